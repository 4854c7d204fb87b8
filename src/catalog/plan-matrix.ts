import path from 'node:path';
import { partsOf, prepareBuild, probeSource } from '../pipeline/index.js';
import { inputDigest } from '../pipeline/input-digest.js';
import type { BuildRecord } from '../pipeline/record.js';
import { productKey } from '../publish/names.js';
import { needsEmulation } from '../runtime/emulation.js';
import { isKilnError } from '../util/errors.js';
import { nullSink } from '../util/events.js';
import { newestPublished } from './run.js';
import { cellBuildOptions, cellLockFile, type CatalogOutputChoices } from './cell-options.js';
import { expandCatalog, rebuildReasons } from './matrix.js';
import type { Catalog } from './types.js';

export interface MatrixRow {
  id: string;
  /** The cell's architecture as clients name it: a CI engine picks a worker that carries it. */
  arch: string;
  /** Relative to the catalog file's directory: a matrix travels to other machines. */
  definition: string;
  overrides: string[];
  /** null when the downloader cannot tell what upstream serves without fetching the root. */
  inputDigest: string | null;
  /** Serial of the newest published build of the product, if any. */
  published: string | null;
  /** true: a build would be skipped as unchanged; null: only known once its source is fetched. */
  wouldSkip: boolean | null;
  /** Why it would be built: what changed since the published build (empty when skipped or unknown). */
  changes: string[];
  /**
   * The host cannot run the cell's binaries: its steps run through
   * qemu-user (slower), so a CI engine with native workers can route it there.
   */
  emulated: boolean;
  /** The command a CI job runs, from the catalog file's directory, to build just this cell. */
  command: string;
  /** The cell's lock (the entry's `locks:` directory), relative like `definition`. */
  lock?: string;
  error?: string;
}

/**
 * The catalog's cells with their input digests and whether a build would be
 * skipped, so a CI system can shard the work one cell per job.
 */
export async function planMatrix(
  catalog: Catalog,
  opts: CatalogOutputChoices & {
    only?: string;
    workParent: string;
    force: boolean;
    flags?: string[];
    /** The newest published build per product key, when judged against another tree than `out` (--against). */
    published?: Map<string, BuildRecord>;
  },
): Promise<MatrixRow[]> {
  const base = path.dirname(path.resolve(catalog.file));
  const fromBase = (p: string): string => path.relative(base, path.resolve(p)) || '.';
  const published = opts.published ?? (await newestPublished(opts.out));
  const rows: MatrixRow[] = [];
  for (const c of expandCatalog(catalog, opts.only)) {
    const architecture = c.id.split(':')[2] as string;
    const row: MatrixRow = {
      id: c.id,
      arch: architecture,
      definition: fromBase(c.entry.definition),
      overrides: c.overrides,
      inputDigest: null,
      published: null,
      wouldSkip: null,
      changes: [],
      emulated: needsEmulation(architecture),
      command: shellWords([
        'kiln',
        'build',
        '--catalog',
        path.basename(catalog.file),
        '--only',
        c.id,
        '--out',
        fromBase(opts.out),
        ...(opts.flags ?? []),
      ]),
    };
    const lock = cellLockFile(c);
    if (lock !== undefined) row.lock = fromBase(lock);
    try {
      const buildOpts = cellBuildOptions(c, opts, { workParent: opts.workParent, sink: nullSink });
      const prepared = await prepareBuild(buildOpts);
      const def = prepared.plan.definition;
      const previous: BuildRecord | undefined = published.get(
        productKey({
          distribution: def.image.distribution,
          release: def.image.release,
          arch: architecture,
          variant: def.image.variant,
        }),
      );
      row.published = previous?.serial ?? null;
      const identity = await probeSource(prepared, buildOpts);
      if (identity) {
        const parts = partsOf(prepared, identity, buildOpts);
        row.inputDigest = inputDigest(parts);
        row.wouldSkip = !opts.force && previous?.inputDigest === row.inputDigest;
        if (!row.wouldSkip) row.changes = rebuildReasons(previous, parts, opts.force);
      } else if (!previous || opts.force) {
        row.wouldSkip = false;
        row.changes = previous ? ['--force'] : ['nothing published yet'];
      }
    } catch (e) {
      row.error = isKilnError(e) ? e.message : String(e);
      row.wouldSkip = false;
    }
    rows.push(row);
  }
  return rows;
}

/** Words joined so that a POSIX shell gives them back unchanged. */
function shellWords(words: string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
