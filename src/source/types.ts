import type { SourceStep } from '../plan/types.js';
import type { ResolvedDefinition } from '../definition/types.js';
import type { EventSink } from '../util/events.js';

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
  signal?: AbortSignal;
}

/** A downloader: one file under src/source/downloaders/, registered by name. */
export interface Downloader {
  name: string;
  fetch(ctx: SourceContext): Promise<SourceRecord>;
}
