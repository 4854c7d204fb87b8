import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export type Resolved =
  | { kind: 'file'; fh: FileHandle; stat: Stats; path: string; rel: string }
  | { kind: 'dir'; path: string; rel: string }
  | { kind: 'missing' };

/** True when `rel` (relative to the tree) stays inside and has no hidden component. */
function insideAndVisible(rel: string): boolean {
  if (rel === '') return true;
  if (rel.startsWith('..') || rel.startsWith(sep)) return false;
  return rel.split(sep).every((c) => c !== '' && !c.startsWith('.'));
}

/**
 * Opens what a request names inside the tree. Symlinks are resolved and
 * refused when they end outside the tree or in a hidden place; the opened
 * descriptor is checked once more through /proc so a symlink swapped in
 * between cannot redirect the read.
 */
export async function resolveInTree(rootReal: string, segments: string[]): Promise<Resolved> {
  let real: string;
  try {
    real = await realpath(join(rootReal, ...segments));
  } catch {
    return { kind: 'missing' };
  }
  const rel = relative(rootReal, real);
  if (!insideAndVisible(rel)) return { kind: 'missing' };
  let fh: FileHandle;
  try {
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { kind: 'missing' };
  }
  try {
    const stat = await fh.stat();
    const opened = await readlink(`/proc/self/fd/${fh.fd}`);
    if (opened !== real) {
      await fh.close();
      return { kind: 'missing' };
    }
    if (stat.isDirectory()) {
      await fh.close();
      return { kind: 'dir', path: real, rel };
    }
    if (!stat.isFile()) {
      await fh.close();
      return { kind: 'missing' };
    }
    return { kind: 'file', fh, stat, path: real, rel };
  } catch {
    await fh.close().catch(() => undefined);
    return { kind: 'missing' };
  }
}
