import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Generator } from './types.js';
import { writeOptions } from './options.js';
import { mkdirInRoot, setOwnerAndMode, type WriteOptions } from '../file-ops.js';
import { resolveInRoot } from '../safe-path.js';
import { KilnError } from '../../util/errors.js';

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        const body = pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Host paths matching `source`; a glob is allowed in the last component only (as distrobuilder). */
export async function expandSource(source: string): Promise<string[]> {
  const dir = path.dirname(source);
  const base = path.basename(source);
  if (/[*?[]/.test(dir))
    throw new KilnError(`copy source '${source}': wildcards are allowed in the last path component only`);
  if (!/[*?[]/.test(base)) {
    try {
      await lstat(source);
      return [source];
    } catch {
      return [];
    }
  }
  const re = globToRegExp(base);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n) && (base.startsWith('.') || !n.startsWith('.')))
    .sort()
    .map((n) => path.join(dir, n));
}

async function replaceable(target: string): Promise<void> {
  try {
    const st = await lstat(target);
    if (!st.isDirectory()) await rm(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

interface CopyJob {
  rootfs: string;
  /** Options from the definition; when it sets no mode, each file keeps its own. */
  opts: WriteOptions;
  step: string;
}

/** The image-absolute form of a host path inside the root. */
function innerOf(rootfs: string, hostPath: string): string {
  return path.posix.join('/', path.relative(rootfs, hostPath).split(path.sep).join('/'));
}

async function copyFile(job: CopyJob, src: string, inner: string, srcMode: number): Promise<void> {
  // A symlink at the destination is followed as a chroot would, inside the root.
  const target = await resolveInRoot(job.rootfs, inner);
  await mkdirInRoot(job.rootfs, path.posix.dirname(innerOf(job.rootfs, target)));
  await replaceable(target);
  const mode = job.opts.mode ?? srcMode & 0o7777;
  const input = await open(src, constants.O_RDONLY);
  const output = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    mode,
  );
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let off = 0;
      while (off < bytesRead) off += (await output.write(buf, off, bytesRead - off)).bytesWritten;
    }
    await output.chmod(mode);
    if (job.opts.uid !== undefined || job.opts.gid !== undefined)
      await output.chown(job.opts.uid ?? -1, job.opts.gid ?? -1);
  } finally {
    await input.close();
    await output.close();
  }
}

async function copySymlink(job: CopyJob, src: string, inner: string): Promise<void> {
  await mkdirInRoot(job.rootfs, path.posix.dirname(inner));
  const target = await resolveInRoot(job.rootfs, inner, { followLast: false });
  await replaceable(target);
  await symlink(await readlink(src), target);
}

async function copyTree(job: CopyJob, src: string, inner: string): Promise<void> {
  const st = await lstat(src);
  if (st.isSymbolicLink()) return copySymlink(job, src, inner);
  if (st.isFile()) return copyFile(job, src, inner, st.mode);
  if (st.isDirectory()) {
    const dir = await mkdirInRoot(job.rootfs, inner);
    // A mode from the definition is meant for files: directories keep their own.
    await setOwnerAndMode(dir, { mode: st.mode & 0o7777, uid: job.opts.uid, gid: job.opts.gid });
    for (const name of (await readdir(src)).sort())
      await copyTree(job, path.join(src, name), path.posix.join(inner, name));
    return;
  }
  throw new KilnError(`${job.step}: ${src} is neither a file, a directory nor a symlink`);
}

/**
 * Copies host files into the image. Unlike distrobuilder, files and
 * directories keep their modes unless the entry sets `mode`. A relative
 * `source` is relative to the definition's directory; `path` defaults to the
 * source path. A trailing `/` on `path`, or several matches, make `path` a
 * directory receiving the matches; a matched directory is copied with its
 * contents into `path`; symlinks are recreated as they are. Every write stays inside
 * the root, whatever symlinks the image holds.
 */
export const copy: Generator = {
  name: 'copy',
  async run({ rootfs, entry, step, plan }) {
    if (!entry.source) throw new KilnError(`${step}: generator 'copy' needs a source`);
    const base = plan.definitionFile ? path.dirname(path.resolve(plan.definitionFile)) : process.cwd();
    const source = path.resolve(base, entry.source);
    const matches = await expandSource(source);
    if (matches.length === 0)
      throw new KilnError(`${step}: copy source '${entry.source}' matches no file (looked for ${source})`);
    const dest = entry.path || entry.source;
    if (!dest.startsWith('/') && !entry.path)
      throw new KilnError(`${step}: generator 'copy' with a relative source needs a path inside the image`);
    const job: CopyJob = { rootfs, opts: writeOptions(entry, step), step };
    for (const m of matches) {
      const st = await lstat(m);
      const intoDir = matches.length > 1 || (dest.endsWith('/') && !st.isDirectory());
      await copyTree(job, m, intoDir ? path.posix.join(dest, path.basename(m)) : dest);
    }
  },
};
