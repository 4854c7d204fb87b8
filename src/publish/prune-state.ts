import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../util/errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { stateDir } from './tree-lock.js';

/** A build taken out of the indexes whose files wait for the grace period to end. */
export interface PendingDeletion {
  /** `images/d/r/a/v/serial` */
  path: string;
  /** Unix milliseconds. */
  prunedAt: number;
  deleteAfter: number;
}

export interface PruneState {
  version: 1;
  pending: PendingDeletion[];
}

export function pruneStateFile(tree: string): string {
  return join(stateDir(tree), 'prune.json');
}

export async function readPruneState(tree: string): Promise<PruneState> {
  const file = pruneStateFile(tree);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, pending: [] };
    throw e;
  }
  try {
    const data = JSON.parse(text) as PruneState;
    if (data.version !== 1 || !Array.isArray(data.pending)) throw new Error('unknown layout');
    return data;
  } catch (e) {
    throw new KilnError(`${file}: cannot read the pending deletions (${(e as Error).message}); fix or remove the file`);
  }
}

export async function writePruneState(tree: string, state: PruneState): Promise<void> {
  await writeFileAtomic(pruneStateFile(tree), `${JSON.stringify(state, null, 2)}\n`);
}
