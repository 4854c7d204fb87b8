import type { SourceStep } from '../plan/types.js';
import type { ResolvedDefinition } from '../definition/types.js';
import type { EventSink } from '../util/events.js';
import type { UnpackLimits } from './unpack/root-writer.js';

/** What one downloader fetched, for the build record and change detection. */
export interface FetchedInput {
  url: string;
  sha256: string;
  size?: number;
  /** How it was verified: `sha256sums`, `gpg:<fingerprint>`, `checksum`, `debootstrap-release`, `none` ... */
  verifiedBy: string;
}

export interface SourceRecord {
  downloader: string;
  /** What "latest"/codename discovery resolved to, when the downloader does discovery. */
  resolved?: Record<string, string>;
  inputs: FetchedInput[];
}

export interface SourceContext {
  definition: ResolvedDefinition;
  step: SourceStep;
  /** Empty directory (created by the caller) that receives the unpacked root. */
  rootfs: string;
  /** Download cache directory. */
  cacheDir: string;
  /** Scratch directory for this build, removed by the caller. */
  workDir: string;
  sink: EventSink;
  signal?: AbortSignal | undefined;
  /** Caps on what an archive may expand to (DEFAULT_LIMITS in src/source/unpack/root-writer.ts). */
  limits?: Partial<UnpackLimits> | undefined;
}

/** What a probe needs: no root, no downloads beyond small index files. */
export type ProbeContext = Omit<SourceContext, 'rootfs'>;

/**
 * What upstream currently serves, cheaply: digests of the small files that
 * change whenever the root would (a Release file, a checksum list, the host
 * binary). Equal identities mean the source stage would produce the same root.
 */
export interface SourceIdentity {
  /** Name -> digest or validator, e.g. `dists/bookworm/InRelease` -> sha256. */
  parts: Record<string, string>;
}

/** A downloader: one file under src/source/downloaders/, registered by name. */
export interface Downloader {
  name: string;
  fetch(ctx: SourceContext): Promise<SourceRecord>;
  /**
   * Optional: the upstream identity without fetching the root, so catalog
   * builds can skip unchanged images before any slow work. Downloaders
   * without it (or whose probe answers undefined for this source) are
   * identified by the digests of what fetch() downloaded.
   */
  probe?(ctx: ProbeContext): Promise<SourceIdentity | undefined>;
}
