import { createHash } from 'node:crypto';
import type { ProbeContext, SourceContext, SourceIdentity } from './types.js';
import { resolveMirror } from './debian-common.js';
import { fetchSmall } from './download/http.js';
import { SourceError } from './errors.js';

/** `deb [opts] URL SUITE ...` lines and deb822 URIs/Suites in the definition's apt repositories. */
export function repositorySuites(texts: string[]): Array<{ mirror: string; suite: string }> {
  const out: Array<{ mirror: string; suite: string }> = [];
  for (const text of texts) {
    if (text.includes('{{') || text.includes('{%')) continue;
    for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) out.push({ mirror: m[1] as string, suite: m[2] as string });
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      for (const mirror of uris) for (const suite of suites) out.push({ mirror, suite });
    }
  }
  return out;
}

async function releaseDigest(mirror: string, suite: string, signal?: AbortSignal): Promise<[string, string]> {
  const base = `${mirror.replace(/\/+$/, '')}/dists/${suite}`;
  for (const name of ['InRelease', 'Release']) {
    const got = await fetchSmall(`${base}/${name}`, { retries: 2, maxBytes: 16 << 20, ...(signal ? { signal } : {}) });
    if (got) return [`${base}/${name}`, createHash('sha256').update(got.body).digest('hex')];
  }
  throw new SourceError(`${base}: neither InRelease nor Release exists; is '${suite}' a suite of ${mirror}?`);
}

/**
 * A Debian-family root is fully determined by the Release files of the
 * suites it installs from (they pin every package by digest), so their
 * digests identify what debootstrap or mmdebstrap would produce now.
 */
export async function probeDebian(ctx: ProbeContext): Promise<SourceIdentity> {
  const suite = ctx.step.source.suite || ctx.definition.image.release;
  const { mirror } = await resolveMirror(ctx as SourceContext, suite);
  const repos = (ctx.definition.packages?.repositories ?? []).filter((r) => !r.type || r.type === 'apt' || r.type === 'deb822').map((r) => r.url);
  const pairs = [{ mirror, suite }, ...repositorySuites(repos)];
  const parts: Record<string, string> = {};
  for (const p of pairs) {
    const [url, digest] = await releaseDigest(p.mirror, p.suite, ctx.signal);
    parts[url] = digest;
  }
  return { parts };
}
