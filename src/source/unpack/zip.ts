import unzipper from 'unzipper';
import { UnsafeArchiveError } from '../errors.js';
import type { EntryHeader } from './entry.js';
import type { RootWriter } from './root-writer.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const MADE_BY_UNIX = 3;
const MAX_SYMLINK_TARGET = 4096;

/**
 * Zip archives carry no owners: entries become root's. Unix-made zips keep
 * their modes and symlinks (a symlink is an entry whose data is the target).
 */
export async function unpackZip(file: string, writer: RootWriter): Promise<void> {
  const dir = await unzipper.Open.file(file);
  for (const f of dir.files) {
    const unixMode = f.versionMadeBy >> 8 === MADE_BY_UNIX ? f.externalFileAttributes >>> 16 : 0;
    const isDir = f.type === 'Directory' || (unixMode & S_IFMT) === S_IFDIR;
    const isLink = !isDir && (unixMode & S_IFMT) === S_IFLNK;
    const perm = unixMode & 0o7777;
    const h: EntryHeader = {
      name: f.path,
      type: isDir ? 'dir' : isLink ? 'symlink' : 'file',
      mode: perm !== 0 ? perm : isDir ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: Math.floor(f.lastModifiedDateTime.getTime() / 1000),
      size: isDir || isLink ? 0 : f.uncompressedSize,
    };
    if (isLink) {
      if (f.uncompressedSize > MAX_SYMLINK_TARGET)
        throw new UnsafeArchiveError(`zip entry "${f.path}": symlink target is too long`);
      h.linkname = (await f.buffer()).toString('utf8');
      writer.begin(h);
      writer.end();
      continue;
    }
    writer.begin(h);
    if (h.type === 'file' && h.size > 0) {
      const stream = f.stream();
      try {
        for await (const chunk of stream) writer.data(chunk as Buffer);
      } catch (e) {
        stream.destroy();
        throw e;
      }
    }
    writer.end();
  }
}
