import { constants } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { resolveInRoot } from './safe-path.js';
import { KilnError } from '../util/errors.js';

/** mkdir -p inside the image; every existing component is checked to be a real directory. */
export async function mkdirInRoot(root: string, inner: string, mode = 0o755): Promise<string> {
  const target = await resolveInRoot(root, inner);
  const rel = path.relative(root, target);
  let cur = root;
  for (const comp of rel.split(path.sep).filter(Boolean)) {
    cur = path.join(cur, comp);
    try {
      const st = await lstat(cur);
      if (!st.isDirectory()) throw new KilnError(`${inner}: ${path.relative(root, cur)} exists and is not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(cur, { mode });
    }
  }
  return target;
}

export interface WriteOptions {
  mode?: number;
  uid?: number | undefined;
  gid?: number | undefined;
}

/**
 * Writes a file inside the image. The path is resolved inside the root and
 * the file opened with O_NOFOLLOW, so the write lands in the image whatever
 * symlinks it holds.
 */
export async function writeFileInRoot(
  root: string,
  inner: string,
  content: string | Buffer,
  opts: WriteOptions = {},
): Promise<string> {
  const target = await resolveInRoot(root, inner);
  await mkdirInRoot(
    root,
    path.posix.dirname(path.posix.join('/', path.relative(root, target).split(path.sep).join('/'))),
  );
  const fh = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    opts.mode ?? 0o644,
  );
  try {
    await fh.writeFile(content);
    if (opts.mode !== undefined) await fh.chmod(opts.mode);
    if (opts.uid !== undefined || opts.gid !== undefined) await fh.chown(opts.uid ?? -1, opts.gid ?? -1);
  } finally {
    await fh.close();
  }
  return target;
}

/** Reads a file inside the image, or undefined when it does not exist. */
export async function readFileInRoot(root: string, inner: string): Promise<string | undefined> {
  const target = await resolveInRoot(root, inner);
  let fh;
  try {
    fh = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

export async function existsInRoot(root: string, inner: string): Promise<boolean> {
  try {
    await lstat(await resolveInRoot(root, inner));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** rm -rf inside the image; a symlink as the last component is removed, not followed. */
export async function removeInRoot(root: string, inner: string): Promise<void> {
  const target = await resolveInRoot(root, inner, { followLast: false });
  if (path.resolve(target) === path.resolve(root))
    throw new KilnError(`refusing to remove the whole image root (${inner})`);
  await rm(target, { recursive: true, force: true });
}

export async function setOwnerAndMode(target: string, opts: WriteOptions): Promise<void> {
  if (opts.mode !== undefined) await chmod(target, opts.mode);
  if (opts.uid !== undefined || opts.gid !== undefined) await chown(target, opts.uid ?? -1, opts.gid ?? -1);
}
