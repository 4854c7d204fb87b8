import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BuildOptions } from '../pipeline/index.js';
import type { SquashfsCompression, TarCompression } from '../pack/types.js';
import type { EventSink } from '../util/events.js';
import { publicationOf } from './matrix.js';
import type { Combination } from './types.js';

/** What a catalog run sets for all of its cells: the output choices and where things go. */
export interface CatalogOutputChoices {
  out: string;
  cacheDir: string;
  compression: TarCompression;
  squashfsCompression: SquashfsCompression;
  strictTemplates: boolean;
  sign?: string;
  sourceDateEpoch?: number;
}

/**
 * The one place a cell's build options are made. `kiln build --catalog` and
 * `kiln plan --matrix` both call it, so the matrix digests the very options
 * the run will build with (compression included) and its "would skip" holds.
 */
/** The cell's lock file, when its entry names a locks directory that holds one. */
export function cellLockFile(c: Combination): string | undefined {
  if (c.entry.locks === undefined) return undefined;
  const file = path.join(c.entry.locks, `${c.id}.lock.json`);
  return existsSync(file) ? file : undefined;
}

export function cellBuildOptions(
  c: Combination,
  choices: CatalogOutputChoices,
  run: { workParent: string; sink: EventSink; serial?: string; signal?: AbortSignal | undefined },
): BuildOptions {
  const lockFile = cellLockFile(c);
  return {
    definitionFile: c.entry.definition,
    overrides: [...c.overrides, ...(run.serial !== undefined ? [`image.serial=${run.serial}`] : [])],
    strictTemplates: choices.strictTemplates,
    out: choices.out,
    cacheDir: choices.cacheDir,
    workParent: run.workParent,
    formats: c.entry.formats,
    compression: choices.compression,
    squashfsCompression: choices.squashfsCompression,
    ...publicationOf(c),
    sink: run.sink,
    ...(choices.sign !== undefined ? { sign: choices.sign } : {}),
    ...(lockFile !== undefined ? { lockFile } : {}),
    ...(choices.sourceDateEpoch !== undefined ? { sourceDateEpoch: choices.sourceDateEpoch } : {}),
    ...(run.signal ? { signal: run.signal } : {}),
  };
}
