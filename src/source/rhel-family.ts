/**
 * Locating the ISO of a RHEL-family release: the directory listing holds
 * one ISO per point release and flavour; the newest point release of the
 * requested major wins.
 */
import type { ProbeContext } from './types.js';
import { SourceError } from './errors.js';
import { distroArchitecture, KERNEL_NAMES } from './distro-arch.js';
import { fetchListing, pickNewest } from './listing.js';
import { escapeRegExp } from './url.js';

export const RHEL_ARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x'];

export function rhelArchitecture(ctx: ProbeContext, distribution: string): string {
  return distroArchitecture(ctx.definition, distribution, RHEL_ARCHES, KERNEL_NAMES);
}

/** The major version of a release (`9.5` -> `9`, `9-stream` -> `9`). */
export function majorOf(release: string): string {
  return /^\d+/.exec(release)?.[0] ?? release;
}

/**
 * The ISO `<prefix><version><suffix>` in the listing at `dir`: release `9`
 * picks the newest `9.N` (or `9` itself), `9.5` exactly `9.5`.
 */
export async function pickIso(
  ctx: ProbeContext,
  dir: string,
  release: string,
  prefix: string,
  suffix: string,
  what: string,
): Promise<{ url: string; version: string }> {
  if (!/^\d+(\.\d+)?$/.test(release))
    throw new SourceError(
      `image.release "${release}": ${what} releases are a major version (newest point release) or major.minor`,
    );
  const version = release.includes('.') ? escapeRegExp(release) : `${release}(?:\\.\\d+)*`;
  const pattern = new RegExp(`^${escapeRegExp(prefix)}(${version})${escapeRegExp(suffix)}$`);
  const entries = await fetchListing(dir, ctx);
  const chosen = pickNewest(
    dir,
    entries,
    pattern,
    `${what} ISO (${prefix}${release.includes('.') ? release : `${release}.N`}${suffix})`,
    { directory: false },
  );
  return { url: chosen.entry.url, version: chosen.version };
}
