import type { EventSink } from '../../util/events.js';

/** One installed package as the image's own package database records it. */
export interface InstalledPackage {
  name: string;
  version: string;
  arch?: string;
  /** As the database writes it (may or may not be an SPDX expression). */
  license?: string;
  /** purl type and namespace, e.g. `deb/debian`, `apk/alpine`. */
  purlType: string;
}

/** Reads one kind of package database from a root; null when the root has none. */
export interface PackageDb {
  name: string;
  read(
    root: string,
    ctx: { sink: EventSink; distribution: string; signal?: AbortSignal | undefined },
  ): Promise<InstalledPackage[] | null>;
}
