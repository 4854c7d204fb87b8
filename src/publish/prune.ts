import { readdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { KilnError } from '../util/errors.js';
import type { ProductId } from '../pipeline/record.js';
import { log, nullSink, type EventSink } from '../util/events.js';
import { readPruneState, writePruneState, type PendingDeletion } from './prune-state.js';
import { regenerateIndexesLocked, removeLeftovers } from './regenerate.js';
import { requireTree, withTreeLock } from './tree-lock.js';
import { scanTree } from './tree-scan.js';

export interface PruneOptions {
  tree: string;
  /** Builds kept per product (newest first). */
  keep: number;
  /** A product's own retention, when it has one (catalog entries set `keep`). */
  keepFor?: (product: ProductId) => number | undefined;
  /** How long files of a pruned build stay on disk after it left the indexes. */
  graceMs: number;
  sink?: EventSink | undefined;
  /** Only say what would happen. */
  dryRun?: boolean | undefined;
  now?: Date;
}

export interface PruneResult {
  /** Builds taken out of the indexes by this run. */
  pruned: string[];
  /** Builds whose files this run deleted (their grace period was over). */
  deleted: string[];
  /** Builds out of the indexes whose files still wait. */
  waiting: PendingDeletion[];
}

async function removeEmptyParents(tree: string, rel: string): Promise<void> {
  let dir = dirname(rel);
  while (dir.startsWith('images/')) {
    const abs = join(tree, dir);
    if ((await readdir(abs).catch(() => ['x'])).length > 0) return;
    await rmdir(abs).catch(() => undefined);
    dir = dirname(dir);
  }
}

/**
 * Keeps the newest `keep` builds per product. Older ones leave the indexes at
 * once but their files stay for the grace period, because clients cache the
 * indexes (an hour for LXD/Incus) and would otherwise get 404s; a later prune
 * run deletes them. The pending deletions live in `.kiln/prune.json`.
 */
export async function pruneTree(opts: PruneOptions): Promise<PruneResult> {
  if (!Number.isInteger(opts.keep) || opts.keep < 1)
    throw new KilnError(`--keep ${opts.keep}: keep at least 1 build per product`);
  if (!(opts.graceMs >= 0)) throw new KilnError(`--grace: must not be negative`);
  const sink = opts.sink ?? nullSink;
  const tree = resolve(opts.tree);
  const now = (opts.now ?? new Date()).getTime();
  await requireTree(tree);
  return withTreeLock(tree, sink, () => pruneTreeLocked(tree, opts, sink, now));
}

/**
 * pruneTree for a caller already holding the tree lock (`kiln publish` applies
 * retention inside its own lock, so the indexes are written once). Always
 * regenerates the indexes.
 */
export async function pruneTreeLocked(
  tree: string,
  opts: Omit<PruneOptions, 'tree' | 'sink'>,
  sink: EventSink,
  now: number = (opts.now ?? new Date()).getTime(),
): Promise<PruneResult> {
  const state = await readPruneState(tree);
  const pendingPaths = new Set(state.pending.map((p) => p.path));
  const products = await scanTree(tree, { exclude: pendingPaths, sink });
  const pruned: string[] = [];
  for (const builds of products.values()) {
    const keep = (builds[0] && opts.keepFor?.(builds[0].record.product)) ?? opts.keep;
    for (const b of builds.slice(keep).reverse()) {
      pruned.push(b.relDir);
      state.pending.push({ path: b.relDir, prunedAt: now, deleteAfter: now + opts.graceMs });
    }
  }
  const due = state.pending.filter((p) => p.deleteAfter <= now);
  if (opts.dryRun) {
    for (const p of pruned) log(sink, 'info', `would take ${p} out of the indexes`);
    for (const p of due) log(sink, 'info', `would delete ${p.path}`);
    return { pruned, deleted: due.map((p) => p.path), waiting: state.pending.filter((p) => p.deleteAfter > now) };
  }
  // Out of the indexes first; files go only after that is on disk.
  await writePruneState(tree, state);
  await removeLeftovers(tree, sink);
  await regenerateIndexesLocked(tree, sink, new Date(now));
  const deleted: string[] = [];
  for (const p of due) {
    const abs = join(tree, p.path);
    // Hide it first so nobody ever sees a half-deleted build directory.
    const hidden = join(dirname(abs), `.${p.path.slice(p.path.lastIndexOf('/') + 1)}.deleting`);
    try {
      await rename(abs, hidden);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rm(hidden, { recursive: true, force: true });
    await removeEmptyParents(tree, p.path);
    deleted.push(p.path);
    log(sink, 'info', `deleted ${p.path}`);
  }
  state.pending = state.pending.filter((p) => p.deleteAfter > now);
  await writePruneState(tree, state);
  for (const p of pruned) log(sink, 'info', `took ${p} out of the indexes`);
  return { pruned, deleted, waiting: state.pending };
}
