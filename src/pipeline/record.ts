import type { SourceRecord } from '../source/types.js';
import type { InputParts } from './input-digest.js';
import type { RootLint } from '../pack/lint.js';

/**
 * `build.json`, written beside the artifacts of every build. It is the
 * contract between packing and publishing: the publisher and `kiln index`
 * build every index from these files alone.
 */
export interface ProductId {
  distribution: string;
  release: string;
  /** Debian-style architecture name as clients ask for it (`amd64`, `arm64`, `armhf`, ...). */
  arch: string;
  variant: string;
}

export interface ArtifactRecord {
  /** File name inside the build directory (`rootfs.tar.xz`, `meta.tar.xz`, `incus.tar.xz`, `rootfs.squashfs`, ...). */
  name: string;
  size: number;
  sha256: string;
  /** What clients call it: `lxc.rootfs`, `lxc.meta`, `incus.meta`, `squashfs`, `unified`, `record`. */
  role: string;
}

/**
 * One simplestreams item of a mirrored version, as upstream listed it: every
 * field is kept (combined fingerprints, delta_base, ftypes kiln does not
 * build such as disk-kvm.img), only the path becomes `name` inside the build
 * directory.
 */
export interface MirroredItem {
  ftype: string;
  name: string;
  sha256: string;
  size: number;
  /** combined_*_sha256, delta_base and any other string field upstream gave the item. */
  extra: Record<string, string>;
}

/** What a mirrored build came from (`kiln mirror`); the index writer lists its items verbatim. */
export interface MirrorSource {
  /** Base URL of the upstream image server. */
  upstream: string;
  /** The version's directory on the upstream, relative to its base. */
  path: string;
  /** Simplestreams items by their upstream item key (`incus.tar.xz`, `root.squashfs`, `disk.qcow2`, ...). */
  items: Record<string, MirroredItem>;
}

export interface BuildRecord {
  kiln: { version: string };
  product: ProductId;
  serial: string;
  /** Incus/simplestreams properties. */
  os: string;
  releaseTitle: string;
  aliases: string[];
  /** Simplestreams requirements, e.g. `secureboot: "false"` (from the catalog entry). */
  requirements?: Record<string, string>;
  description: string;
  /** True when meta.tar.xz has user (unprivileged) config: the image goes into index-user. */
  userConfig: boolean;
  /** Unix seconds. */
  creationDate: number;
  expiryDate: number;
  definition: { file: string; digest: string };
  /** Digest over the resolved plan, source digests and kiln version (change-aware skipping). */
  inputDigest?: string;
  /** What inputDigest was made of: a later run names what changed. */
  inputParts?: InputParts;
  /** What the root should not carry, and its setuid/setgid files (see pack/lint.ts). */
  lint?: RootLint;
  sources: SourceRecord[];
  artifacts: ArtifactRecord[];
  /** Simplestreams combined fingerprints: sha256(metadata tarball bytes + rootfs bytes). */
  fingerprints: { combined_sha256?: string; combined_squashfs_sha256?: string; combined_rootxz_sha256?: string };
  timings: Record<string, number>;
  /** Set on builds `kiln mirror` copied from an upstream server instead of building them. */
  mirror?: MirrorSource;
}
