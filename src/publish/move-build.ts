import { cp, rename } from 'node:fs/promises';

/**
 * Moves a directory within a filesystem by renaming it; across filesystems
 * (EXDEV) it copies instead. Returns true when the source still exists and
 * has to be removed by the caller once the copy is safely published.
 */
export async function moveOrCopyDir(src: string, dest: string): Promise<boolean> {
  try {
    await rename(src, dest);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  await cp(src, dest, { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false });
  return true;
}
