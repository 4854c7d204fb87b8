import { lstat, stat } from 'node:fs/promises';

/**
 * Whether anything is at `p`. `lstat` by default: a dangling symlink is
 * something (it would be overwritten); `follow` asks whether its target is.
 */
export async function pathExists(p: string, opts: { follow?: boolean } = {}): Promise<boolean> {
  try {
    await (opts.follow ? stat(p) : lstat(p));
    return true;
  } catch {
    return false;
  }
}
