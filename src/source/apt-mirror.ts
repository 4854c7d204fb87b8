import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

/** One `deb` source from the host's apt configuration. */
export interface AptSource {
  file: string;
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
}

/** Debian's codenames and aliases: what "a Debian suite" means when picking a mirror. */
const DEBIAN_SUITES = new Set([
  'buzz',
  'rex',
  'bo',
  'hamm',
  'slink',
  'potato',
  'woody',
  'sarge',
  'etch',
  'lenny',
  'squeeze',
  'wheezy',
  'jessie',
  'stretch',
  'buster',
  'bullseye',
  'bookworm',
  'trixie',
  'forky',
  'duke',
  'sid',
  'experimental',
  'stable',
  'testing',
  'unstable',
  'oldstable',
  'oldoldstable',
]);

/**
 * Reads `/etc/apt/sources.list`, `sources.list.d/*.list` (one-line format)
 * and `sources.list.d/*.sources` (deb822), skipping disabled entries.
 */
export async function readAptSources(etcApt = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const main = path.join(etcApt, 'sources.list');
  out.push(...parseOneLine(await readOr(main), main));
  const dir = path.join(etcApt, 'sources.list.d');
  let names: string[] = [];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    // no sources.list.d
  }
  for (const name of names) {
    const file = path.join(dir, name);
    if (name.endsWith('.list')) out.push(...parseOneLine(await readOr(file), file));
    else if (name.endsWith('.sources')) out.push(...parseDeb822(await readOr(file), file));
  }
  return out;
}

/**
 * The mirror URL to bootstrap `release` from: a `deb` entry listing that very
 * suite wins, else any entry for a plain Debian suite (not -updates,
 * -security, -backports, which live elsewhere or lack a full archive).
 */
export function pickDebianMirror(sources: AptSource[], release: string): string | undefined {
  const usable = sources.filter((s) => s.types.includes('deb'));
  const uriOf = (s: AptSource): string | undefined => s.uris.find((u) => /^(https?|file):/.test(u));
  for (const s of usable) {
    if (s.suites.includes(release) && uriOf(s)) return uriOf(s);
  }
  for (const s of usable) {
    if (s.suites.some((suite) => DEBIAN_SUITES.has(suite)) && uriOf(s)) return uriOf(s);
  }
  return undefined;
}

async function readOr(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

function parseOneLine(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const type = line.split(/\s+/, 1)[0]!;
    line = line.slice(type.length).trim();
    let signedBy: string | undefined;
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) continue;
      const opts = line.slice(1, end);
      const m = /(?:^|\s)signed-by=(\S+)/.exec(opts);
      if (m) signedBy = m[1];
      line = line.slice(end + 1).trim();
    }
    const [uri, suite, ...components] = line.split(/\s+/);
    if (!uri || !suite) continue;
    out.push({ file, types: [type], uris: [uri], suites: [suite], components, ...(signedBy ? { signedBy } : {}) });
  }
  return out;
}

function parseDeb822(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let key: string | undefined;
    for (const raw of para.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && key) {
        fields.set(key, `${fields.get(key)}\n${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m) continue;
      key = m[1]!.toLowerCase();
      fields.set(key, m[2]!.trim());
    }
    if (!fields.has('types') || !fields.has('uris') || !fields.has('suites')) continue;
    if (/^(no|false|0)$/i.test(fields.get('enabled') ?? 'yes')) continue;
    const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    const signedBy = fields.get('signed-by');
    out.push({
      file,
      types: list('types'),
      uris: list('uris'),
      suites: list('suites'),
      components: list('components'),
      ...(signedBy && !signedBy.includes('\n') ? { signedBy } : {}),
    });
  }
  return out;
}
