import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Flushes a directory so a rename inside it survives a crash. Linux allows
 * fsync on a read-only directory descriptor.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/**
 * Replaces `file` so that a reader sees either the old or the new content,
 * never a mix: the data goes to a hidden temp file in the same directory
 * (never served, cleaned up by the next publisher), is fsynced, then renamed
 * over the target.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = await open(tmp, 'wx', 0o644);
  try {
    try {
      await fd.writeFile(data);
      await fd.sync();
    } finally {
      await fd.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

/** True for the temp files writeFileAtomic leaves behind when killed. */
export function isAtomicTemp(name: string): boolean {
  return name.startsWith('.') && /\.tmp-\d+-[0-9a-f]{8}$/.test(name);
}
