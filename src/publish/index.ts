/**
 * Publishing: builds go into an image tree atomically, and the tree's
 * indexes (LXC, simplestreams, catalog) are rebuilt from its build.json
 * files.
 */
import { resolve } from 'node:path';
import { nullSink, type EventSink } from '../util/events.js';
import { regenerateIndexesLocked, removeLeftovers } from './regenerate.js';
import { requireTree, withTreeLock } from './tree-lock.js';

export { publishBuild, type PublishOptions } from './publish-build.js';
export { pruneTree, type PruneOptions, type PruneResult } from './prune.js';
export { defaultSerial } from './names.js';
export { catalogFile } from './regenerate.js';
export type { CatalogData, CatalogProduct } from './catalog-data.js';
export { parseDuration } from './duration.js';

/**
 * Rebuilds every index of the tree from the build.json files it holds, after
 * removing what killed publishers left behind. Takes the tree lock.
 */
export async function regenerateIndexes(tree: string, sink: EventSink = nullSink): Promise<void> {
  const root = resolve(tree);
  await requireTree(root);
  await withTreeLock(root, sink, async () => {
    await removeLeftovers(root, sink);
    await regenerateIndexesLocked(root, sink);
  });
}
