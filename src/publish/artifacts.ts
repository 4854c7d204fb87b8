import type { ArtifactRecord, BuildRecord } from '../build/record.js';

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
  return record.artifacts.find((a) => a.role === role) ?? record.artifacts.find((a) => !a.role && DEFAULT_NAMES[role].includes(a.name));
}

/** What a client can do with a build. */
export function buildFormats(record: BuildRecord): { lxc: boolean; incus: boolean; squashfs: boolean; rootxz: boolean; unified: boolean } {
  const has = (r: ArtifactRole) => findArtifact(record, r) !== undefined;
  const incusMeta = has('incus.meta');
  return {
    lxc: has('lxc.rootfs') && has('lxc.meta'),
    incus: incusMeta && (has('squashfs') || has('lxc.rootfs')),
    squashfs: incusMeta && has('squashfs'),
    rootxz: incusMeta && has('lxc.rootfs'),
    unified: has('unified'),
  };
}
