import type { LockedInput, LockedRepository } from '../plan/lock.js';
import type { Plan } from '../plan/types.js';
import type { ArtifactRecord } from '../pipeline/record.js';
import type { EventSink } from '../util/events.js';
import type { RootLint } from './lint.js';

/** An Incus/LXD metadata template entry (metadata.yaml `templates:`), keyed by in-image path. */
export interface IncusTemplate {
  template: string;
  when: string[];
  create_only?: boolean;
  properties?: Record<string, string>;
}

/**
 * What the generators left for the metadata: the LXC `templates` list and the
 * Incus templates with their `.tpl` files.
 */
export interface ImageMetadata {
  lxcTemplates: string[];
  incusTemplates: Record<string, IncusTemplate>;
  /** `templates/<name>` file name to content. */
  incusTemplateFiles: Record<string, string>;
  /** How rootfs.tar.xz differs from the root the Incus outputs carry. */
  lxcOnly?: LxcRootDelta;
  /** apt's Release files right after the packages went in (build.lock.json's repositories). */
  aptIndexes?: LockedRepository[];
}

/**
 * One customized root feeds every output, but a few generators want the
 * LXC image to differ (cloud-init off there, on for Incus's seed): the
 * difference is applied while the LXC tarball is written, not to the root.
 * Paths are root-relative without a leading slash.
 */
export interface LxcRootDelta {
  /** Symlinks or files left out of rootfs.tar.xz (never hard-linked files). */
  remove: string[];
  /** Files only rootfs.tar.xz carries, owned by root; they replace a root entry at the same path. */
  add: { path: string; content: string; mode: number }[];
}

export type OutputFormat = 'lxc' | 'incus' | 'unified';
export type TarCompression = { method: 'xz' | 'zstd' | 'gzip' | 'none'; level?: number };
export type SquashfsCompression = 'xz' | 'zstd' | 'gzip' | 'lz4';

export interface PackInput {
  /** The customized root directory. */
  rootfs: string;
  plan: Plan;
  metadata: ImageMetadata;
  /** Existing empty directory receiving the artifacts. */
  outDir: string;
  formats: OutputFormat[];
  compression: TarCompression;
  squashfsCompression: SquashfsCompression;
  /** Clamp for every mtime and the creation date (reproducible builds), Unix seconds. */
  sourceDateEpoch: number;
  /** Unix seconds written as creation date. */
  creationDate: number;
  /** Unix seconds when the image expires. */
  expiryDate: number;
  /** gpg key id or key file: detached armored `.asc` for every artifact and SHA256SUMS. */
  sign?: string;
  /** What build.lock.json records besides the packages; without it no lock is written. */
  lock?: { plan: string; inputs: LockedInput[] };
  sink: EventSink;
  signal?: AbortSignal | undefined;
}

export interface PackResult {
  artifacts: ArtifactRecord[];
  /** True when meta.tar.xz carries user config (image can run unprivileged). */
  userConfig: boolean;
  fingerprints: { combined_sha256?: string; combined_squashfs_sha256?: string; combined_rootxz_sha256?: string };
  timings: Record<string, number>;
  /** What the root should not carry (warnings) and its setuid inventory. */
  lint: RootLint;
}
