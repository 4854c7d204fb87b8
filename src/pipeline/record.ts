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
}
