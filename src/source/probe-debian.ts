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
    for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm))
      out.push({ mirror: m[1] as string, suite: m[2] as string });
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      for (const mirror of uris) for (const suite of suites) out.push({ mirror, suite });
    }
  }
  return out;
}

async function releaseDigest(
  mirror: string,
  suite: string,
  signal?: AbortSignal,
): Promise<[string, string] | undefined> {
  const base = `${mirror.replace(/\/+$/, '')}/dists/${suite}`;
  for (const name of ['InRelease', 'Release']) {
    const got = await fetchSmall(`${base}/${name}`, { retries: 2, maxBytes: 16 << 20, ...(signal ? { signal } : {}) });
    if (got) return [`${base}/${name}`, createHash('sha256').update(got.body).digest('hex')];
  }
  return undefined;
}

/**
 * The suites an image of `suite` usually also installs from without the
 * definition naming them (an action writes them into its apt sources):
 * `-updates` and `-security`, which Debian serves next to the mirror
 * (`<mirror>-security`) and Ubuntu in the archive itself. Counted when they
 * exist: a security update must make the next catalog run rebuild, and a
 * needless rebuild is the cheaper mistake.
 */
export function companionSuites(mirror: string, suite: string): Array<{ mirror: string; suite: string }> {
  if (suite.includes('-') || ['sid', 'unstable', 'experimental', 'rc-buggy'].includes(suite)) return [];
  const m = mirror.replace(/\/+$/, '');
  return [
    { mirror: m, suite: `${suite}-updates` },
    { mirror: m, suite: `${suite}-security` },
    { mirror: `${m}-security`, suite: `${suite}-security` },
  ];
}

/**
 * A Debian-family root is fully determined by the Release files of the
 * suites it installs from (they pin every package by digest), so their
 * digests identify what debootstrap or mmdebstrap, and the updates after
 * it, would produce now.
 */
export async function probeDebian(ctx: ProbeContext): Promise<SourceIdentity> {
  const suite = ctx.step.source.suite || ctx.definition.image.release;
  const { mirror } = await resolveMirror(ctx as SourceContext, suite);
  const repos = (ctx.definition.packages?.repositories ?? [])
    .filter((r) => !r.type || r.type === 'apt' || r.type === 'deb822')
    .map((r) => r.url);
  const required = [{ mirror, suite }, ...repositorySuites(repos)];
  const parts: Record<string, string> = {};
  for (const p of required) {
    const found = await releaseDigest(p.mirror, p.suite, ctx.signal);
    if (!found)
      throw new SourceError(
        `${p.mirror.replace(/\/+$/, '')}/dists/${p.suite}: neither InRelease nor Release exists; is '${p.suite}' a suite of ${p.mirror}?`,
      );
    parts[found[0]] = found[1];
  }
  for (const p of companionSuites(mirror, suite)) {
    const found = await releaseDigest(p.mirror, p.suite, ctx.signal);
    if (found) parts[found[0]] = found[1];
  }
  return { parts };
}
