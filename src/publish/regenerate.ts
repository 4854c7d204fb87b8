import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { log, type EventSink } from '../util/events.js';
import { fsyncDir, isAtomicTemp, writeFileAtomic } from './atomic-write.js';
import { renderCatalogData } from './catalog-data.js';
import { readDeltas, updateDeltas } from './deltas.js';
import { renderLxcIndexes } from './lxc-index.js';
import { readPruneState } from './prune-state.js';
import { renderStreams } from './simplestreams.js';
import { listProductDirs, scanTree } from './tree-scan.js';
import { stateDir } from './tree-lock.js';

/** Path of the catalog data the server renders `/` from. */
export function catalogFile(tree: string): string {
  return join(stateDir(tree), 'catalog.json');
}

async function removeTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) if (isAtomicTemp(n)) await rm(join(dir, n), { force: true });
}

/**
 * Removes what killed publishers left: hidden `.SERIAL*` staging directories
 * and temp files of atomic writes. Only safe while holding the tree lock
 * (publishers stage only under it).
 */
export async function removeLeftovers(tree: string, sink: EventSink): Promise<void> {
  for (const rel of await listProductDirs(tree)) await removeStaging(join(tree, rel), sink);
  for (const d of ['meta/1.0', 'streams/v1', '.kiln']) await removeTemps(join(tree, d));
}

/** Removes hidden staging directories in one product directory (caller holds the lock). */
export async function removeStaging(productDir: string, sink: EventSink): Promise<void> {
  let entries;
  try {
    entries = await readdir(productDir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.name.startsWith('.') || !e.isDirectory()) continue;
    log(sink, 'info', `removing unfinished staging directory ${join(productDir, e.name)}`);
    await rm(join(productDir, e.name), { recursive: true, force: true });
  }
}

/**
 * Rewrites every index from the build.json files in the tree: the LXC index
 * (with `.7` copies), simplestreams and the catalog data. Each file is
 * replaced atomically; the caller holds the tree lock.
 */
export async function regenerateIndexesLocked(tree: string, sink: EventSink, now: Date = new Date()): Promise<void> {
  const pruned = await readPruneState(tree);
  const products = await scanTree(tree, { exclude: new Set(pruned.pending.map((p) => p.path)), sink });
  await updateDeltas(products, sink);
  for (const builds of products.values()) for (const b of builds) b.deltas = await readDeltas(b.dir);
  const lxc = renderLxcIndexes(products);
  const streams = renderStreams(products, now);
  const catalog = renderCatalogData(products, now);
  const metaDir = join(tree, 'meta', '1.0');
  const streamsDir = join(tree, 'streams', 'v1');
  await mkdir(metaDir, { recursive: true });
  await mkdir(streamsDir, { recursive: true });
  // Items first, then the index that points at them; the LXC index last.
  await writeFileAtomic(join(streamsDir, 'images.json'), `${JSON.stringify(streams.images, null, 1)}\n`);
  await writeFileAtomic(join(streamsDir, 'index.json'), `${JSON.stringify(streams.index, null, 1)}\n`);
  for (const [name, text] of [
    ['index-system', lxc.system],
    ['index-system.7', lxc.system],
    ['index-user', lxc.user],
    ['index-user.7', lxc.user],
  ] as const) {
    await writeFileAtomic(join(metaDir, name), text);
  }
  await writeFileAtomic(catalogFile(tree), `${JSON.stringify(catalog)}\n`);
  await fsyncDir(tree);
  log(
    sink,
    'info',
    `indexes of ${tree}: ${products.size} products, ${[...products.values()].reduce((n, l) => n + l.length, 0)} builds`,
  );
}
