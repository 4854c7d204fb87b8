import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';

const MAX_LINKS = 40;

/**
 * Resolves `inner` (a path inside the image) to a host path the way the
 * kernel would inside a chroot of `root`: absolute symlinks restart at the
 * root, `..` never climbs above it. A symlink in the image can therefore never
 * lead a write or a delete onto the host (distrobuilder's generators use plain
 * joins and do). With `followLast: false` the last component is not resolved,
 * so a symlink there is itself the target (what `rm` does).
 *
 * Missing components are kept as they are: the caller creates them.
 */
export async function resolveInRoot(root: string, inner: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const followLast = opts.followLast ?? true;
  const done: string[] = [];
  const todo = inner.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  while (todo.length > 0) {
    const comp = todo.shift() as string;
    if (comp === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, comp);
    const isLast = todo.length === 0;
    let st;
    try {
      st = await lstat(candidate);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        done.push(comp);
        continue;
      }
      throw e;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++links > MAX_LINKS)
        throw new KilnError(`too many levels of symbolic links resolving ${inner} inside the image`);
      const target = await readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    if (!isLast && !st.isDirectory()) {
      throw new KilnError(`${inner}: ${path.posix.join('/', ...done, comp)} is not a directory inside the image`);
    }
    done.push(comp);
  }
  return path.join(root, ...done);
}
