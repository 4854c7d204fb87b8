import type { ArtifactRecord, BuildRecord } from '../pipeline/record.js';
import { KILN_VERSION } from '../util/version.js';
import type { UpstreamVersion } from './upstream.js';

/** What clients call a mirrored file, for the index writer (src/publish/artifacts.ts roles). */
function roleOf(name: string, ftype: string | undefined): string {
  if (name.endsWith('.asc')) return 'signature';
  if (name === 'meta.tar.xz') return 'lxc.meta';
  if (ftype === 'root.tar.xz' || (ftype === undefined && name === 'rootfs.tar.xz')) return 'lxc.rootfs';
  if (ftype === 'incus.tar.xz' || ftype === 'lxd.tar.xz') return 'incus.meta';
  if (ftype === 'squashfs') return 'squashfs';
  if (ftype === 'incus_combined.tar.gz' || ftype === 'lxd_combined.tar.gz') return 'unified';
  return 'mirrored';
}

/** lxc-ci serials start `YYYYMMDD_HH:MM`; the build's date is that, else now. */
function serialDate(serial: string, now: Date): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:_(\d{2}):?(\d{2}))?/.exec(serial);
  if (!m) return Math.floor(now.getTime() / 1000);
  return Math.floor(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0)) / 1000);
}

/**
 * The build.json of a mirrored version: the index writer reads it like any
 * build's, lists its upstream items verbatim (`mirror`) and keeps upstream's
 * combined fingerprints, which publishing checks against the files.
 */
export function mirroredRecord(
  upstream: string,
  v: UpstreamVersion,
  files: { name: string; size: number; sha256: string }[],
  now: Date,
): BuildRecord {
  const ftypeOf = new Map(Object.values(v.items).map((it) => [it.name, it.ftype]));
  const artifacts: ArtifactRecord[] = files
    .map((f) => ({ ...f, role: roleOf(f.name, ftypeOf.get(f.name)) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const meta = Object.values(v.items).find((it) => it.ftype === 'incus.tar.xz' || it.ftype === 'lxd.tar.xz');
  const has = (ftype: string) => Object.values(v.items).some((it) => it.ftype === ftype);
  const fingerprints: BuildRecord['fingerprints'] = {};
  if (meta) {
    const e = meta.extra;
    if (has('squashfs') && e.combined_squashfs_sha256)
      fingerprints.combined_squashfs_sha256 = e.combined_squashfs_sha256;
    if (has('root.tar.xz') && e.combined_rootxz_sha256) fingerprints.combined_rootxz_sha256 = e.combined_rootxz_sha256;
    if (has('root.tar.xz') && e.combined_sha256) fingerprints.combined_sha256 = e.combined_sha256;
  }
  const created = serialDate(v.serial, now);
  return {
    kiln: { version: KILN_VERSION },
    product: v.product,
    serial: v.serial,
    os: v.os,
    releaseTitle: v.releaseTitle,
    aliases: v.aliases,
    requirements: v.requirements,
    description: `${v.os} ${v.releaseTitle} ${v.product.arch} (${v.product.variant}) mirrored from ${upstream}`,
    userConfig: v.userConfig,
    creationDate: created,
    expiryDate: 0,
    definition: { file: upstream, digest: '' },
    sources: [],
    artifacts,
    fingerprints,
    timings: {},
    mirror: { upstream, path: v.dir, items: v.items },
  };
}
