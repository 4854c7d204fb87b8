import { lstat, readdir, readlink } from 'node:fs/promises';
import { constants, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../util/errors.js';
import type { EventSink } from '../util/events.js';
import { log } from '../util/events.js';
import type { InodeFields, TarType } from './tar-header.js';

/** One inode of the root as it goes into every archive, in archive order. */
export interface RootEntry extends InodeFields {
  /** Path relative to the root, '' for the root itself, no leading or trailing slash; mtime already clamped to SOURCE_DATE_EPOCH, a `link`'s linkname relative to the root. */
  path: string;
}

function typeOf(mode: number): TarType | 'socket' {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return 'directory';
    case constants.S_IFLNK:
      return 'symlink';
    case constants.S_IFCHR:
      return 'char';
    case constants.S_IFBLK:
      return 'block';
    case constants.S_IFIFO:
      return 'fifo';
    case constants.S_IFSOCK:
      return 'socket';
    default:
      return 'file';
  }
}

/** Linux's dev_t layout (glibc gnu_dev_major/minor). */
function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

/** GNU tar --sort=name order: byte order of the names within each directory. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Lists the whole root depth-first, each directory before its children and
 * children in byte order, so the archive order never depends on the file
 * system. The second name of a hard-linked inode (same dev+ino) becomes a
 * `link` entry to the first. Sockets cannot be archived and are skipped.
 */
export async function walkRoot(
  root: string,
  sourceDateEpoch: number,
  sink: EventSink,
  signal?: AbortSignal,
  /** Collects the sockets left out, for the linter. */
  sockets?: string[],
): Promise<RootEntry[]> {
  const entries: RootEntry[] = [];
  const seen = new Map<string, string>();

  const visit = async (rel: string, st: BigIntStats): Promise<void> => {
    if (signal?.aborted) throw signal.reason;
    const abs = rel === '' ? root : join(root, rel);
    const mode = Number(st.mode);
    const type = typeOf(mode);
    if (type === 'socket') {
      log(sink, 'warn', `skipping socket /${rel}: sockets cannot be stored in an image`);
      sockets?.push(rel);
      return;
    }
    if (rel === '' && type !== 'directory') {
      throw new KilnError(`rootfs ${root} is not a directory`);
    }
    const mtime = Math.min(Number(st.mtimeMs / 1000n), sourceDateEpoch);
    const entry: RootEntry = {
      path: rel,
      type,
      mode: mode & 0o7777,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtime,
    };
    if (type !== 'directory' && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = seen.get(key);
      if (first !== undefined) {
        entries.push({ ...entry, type: 'link', linkname: first });
        return;
      }
      seen.set(key, rel);
    }
    if (type === 'file') entry.size = Number(st.size);
    if (type === 'symlink') entry.linkname = await readlink(abs);
    if (type === 'char' || type === 'block') {
      entry.devmajor = major(st.rdev);
      entry.devminor = minor(st.rdev);
    }
    entries.push(entry);
    if (type !== 'directory') return;
    const names = await readdir(abs);
    names.sort(byteOrder);
    const paths = names.map((name) => {
      if (name.includes('\uFFFD')) {
        throw new KilnError(`file name in ${abs} is not valid UTF-8: rename it in the definition's actions`);
      }
      return rel === '' ? name : `${rel}/${name}`;
    });
    // Stat a directory's children together: the thread pool overlaps the I/O.
    const stats = await Promise.all(paths.map((p) => lstat(join(root, p), { bigint: true })));
    for (let i = 0; i < paths.length; i++) await visit(paths[i] as string, stats[i] as BigIntStats);
  };

  await visit('', await lstat(root, { bigint: true }));
  return entries;
}

/** Device nodes under /dev, as LXC's `excludes-user` lists them (`./dev/<name>`). */
export function deviceExcludes(entries: RootEntry[]): string[] {
  return entries
    .filter((e) => (e.type === 'char' || e.type === 'block') && e.path.startsWith('dev/'))
    .map((e) => `./${e.path}`);
}
