import type { ArtifactRecord, BuildRecord } from '../pipeline/record.js';

export type ArtifactRole = 'lxc.rootfs' | 'lxc.meta' | 'incus.meta' | 'squashfs' | 'unified';

/** File names lxc-ci uses, for records that leave a role out. */
const DEFAULT_NAMES: Record<ArtifactRole, string[]> = {
  'lxc.rootfs': ['rootfs.tar.xz'],
  'lxc.meta': ['meta.tar.xz'],
  'incus.meta': ['incus.tar.xz', 'lxd.tar.xz'],
  squashfs: ['rootfs.squashfs'],
  unified: [],
};

export function findArtifact(record: BuildRecord, role: ArtifactRole): ArtifactRecord | undefined {
  return (
    record.artifacts.find((a) => a.role === role) ??
    record.artifacts.find((a) => !a.role && DEFAULT_NAMES[role].includes(a.name))
  );
}

/**
 * The LXC download template fetches `rootfs.tar.xz` and `meta.tar.xz` by
 * those exact names, so a rootfs packed with another compressor does not
 * count for it.
 */
export function hasLxcPair(record: BuildRecord): boolean {
  return (
    findArtifact(record, 'lxc.rootfs')?.name === 'rootfs.tar.xz' &&
    findArtifact(record, 'lxc.meta')?.name === 'meta.tar.xz'
  );
}

/** The rootfs tarball as a simplestreams `root.tar.xz` item: only when it is xz. */
export function rootXz(record: BuildRecord): ArtifactRecord | undefined {
  const a = findArtifact(record, 'lxc.rootfs');
  return a?.name.endsWith('.tar.xz') ? a : undefined;
}

/** What a client can do with a build. */
export function buildFormats(record: BuildRecord): {
  lxc: boolean;
  incus: boolean;
  squashfs: boolean;
  rootxz: boolean;
  unified: boolean;
} {
  const has = (r: ArtifactRole) => findArtifact(record, r) !== undefined;
  const incusMeta = has('incus.meta');
  return {
    lxc: hasLxcPair(record),
    incus: incusMeta && (has('squashfs') || rootXz(record) !== undefined),
    squashfs: incusMeta && has('squashfs'),
    rootxz: incusMeta && rootXz(record) !== undefined,
    unified: has('unified'),
  };
}
