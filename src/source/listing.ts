/**
 * HTML directory listings (Apache and nginx autoindex, lighttpd,
 * MirrorCache, koji): the one place kiln scrapes HTML. Upstreams that have
 * no machine-readable "latest" pointer are resolved through here, so a
 * changed layout fails here with one clear message instead of somewhere
 * deep in a downloader.
 */
import type { EventSink } from '../util/events.js';
import { SourceError } from './errors.js';
import { fetchSmall } from './download/http.js';

/** The upstream's directory layout is not what kiln expects (renamed, moved, emptied). */
export class LayoutError extends SourceError {}

export interface ListingEntry {
  /** Decoded name without a trailing slash. */
  name: string;
  directory: boolean;
  /** Absolute URL of the entry (directories end in `/`). */
  url: string;
}

/**
 * The direct children linked from a listing page at `base` (which must end
 * in `/`): sort links (`?C=N;O=D`), the parent directory, absolute links
 * elsewhere and duplicates are dropped.
 */
export function parseListing(html: string, base: string): ListingEntry[] {
  const baseUrl = new URL(base);
  const basePath = safeDecode(baseUrl.pathname) ?? baseUrl.pathname;
  const out = new Map<string, ListingEntry>();
  for (const m of html.matchAll(/<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    const raw = decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
    if (raw === '' || raw.startsWith('?') || raw.startsWith('#')) continue;
    let target: URL;
    try {
      target = new URL(raw, baseUrl);
    } catch {
      continue;
    }
    // Compared decoded: servers differ in which characters (`:` in OBS paths) they escape.
    const targetPath = safeDecode(target.pathname);
    if (
      target.origin !== baseUrl.origin ||
      target.search !== '' ||
      targetPath === undefined ||
      !targetPath.startsWith(basePath)
    )
      continue;
    const rest = targetPath.slice(basePath.length);
    const directory = rest.endsWith('/');
    const decoded = directory ? rest.slice(0, -1) : rest;
    if (decoded === '' || decoded.includes('/') || decoded === '.' || decoded === '..') continue;
    target.hash = '';
    if (!out.has(decoded)) out.set(decoded, { name: decoded, directory, url: target.href });
  }
  return [...out.values()];
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function decodeEntities(s: string): string {
  return s.replace(
    /&(amp|lt|gt|quot|#39|#x27);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e] ?? _,
  );
}

/** Fetches and parses a listing; `url` gets a trailing slash (servers redirect without one). */
export async function fetchListing(
  url: string,
  opts: { sink?: EventSink; signal?: AbortSignal | undefined } = {},
): Promise<ListingEntry[]> {
  const base = url.endsWith('/') ? url : `${url}/`;
  const got = await fetchSmall(base, { ...opts, maxBytes: 32 << 20, accept: 'text/html, */*' });
  if (!got)
    throw new LayoutError(`${base}: not found (HTTP 404); the directory kiln looks for does not exist upstream`);
  const html = got.body.toString('utf8');
  if (!/<a\s/i.test(html)) {
    throw new LayoutError(
      `${base}: not an HTML directory listing (no links in ${got.body.length} bytes); the upstream layout may have changed`,
    );
  }
  return parseListing(html, got.url.endsWith('/') ? got.url : base);
}

/**
 * Compares version-like strings segment by segment: digit runs as numbers,
 * other runs as text, so 3.21.10 > 3.21.9 and 2024.10.01 > 2024.09.01.
 */
export function compareVersions(a: string, b: string): number {
  const split = (s: string): string[] => s.match(/\d+|[^\d.\-_+~]+/g) ?? [];
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (nx !== ny) {
      return nx ? 1 : -1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

export interface Pick {
  entry: ListingEntry;
  /** Capture group 1 of the pattern (or the whole name without one). */
  version: string;
  match: RegExpExecArray;
}

/**
 * The entry whose name matches `pattern` with the highest version (capture
 * group 1). `what` names the thing for the error, e.g. `Alpine 3.21 minirootfs
 * for x86_64 (alpine-minirootfs-3.21.N-x86_64.tar.gz)`.
 */
export function pickNewest(
  listingUrl: string,
  entries: ListingEntry[],
  pattern: RegExp,
  what: string,
  opts: { directory?: boolean } = {},
): Pick {
  const all = matching(entries, pattern, opts);
  const best = all.sort((x, y) => compareVersions(y.version, x.version))[0];
  if (!best) throw noMatch(listingUrl, entries, what);
  return best;
}

/** Every entry matching `pattern`, newest first. */
export function matching(entries: ListingEntry[], pattern: RegExp, opts: { directory?: boolean } = {}): Pick[] {
  const out: Pick[] = [];
  for (const entry of entries) {
    if (opts.directory !== undefined && entry.directory !== opts.directory) continue;
    const match = pattern.exec(entry.name);
    if (match) out.push({ entry, version: match[1] ?? entry.name, match });
  }
  return out.sort((x, y) => compareVersions(y.version, x.version));
}

/** The "nothing matched" error, with what the listing did offer so a layout change is obvious. */
export function noMatch(listingUrl: string, entries: ListingEntry[], what: string): LayoutError {
  const names = entries.map((e) => (e.directory ? `${e.name}/` : e.name));
  const shown =
    names.length === 0
      ? 'an empty listing'
      : `${names.slice(0, 12).join(', ')}${names.length > 12 ? `, ... (${names.length} entries)` : ''}`;
  return new LayoutError(
    `${listingUrl}: no ${what} in the directory listing (found ${shown}); the upstream layout may have changed`,
  );
}
