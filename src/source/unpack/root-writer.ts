import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { UnsafeArchiveError } from '../errors.js';
import type { EntryHeader, EntrySink } from './entry.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
/** Matches names that need normalizing: empty, `.` or `..` components, doubled or trailing slashes, a leading `./`. */
const CLEAN_NAME = /(^|\/)\.{1,2}(\/|$)|\/\/|\/$|^$/;

export interface UnpackLimits {
  /** Most bytes of file data the archive may expand to. */
  maxBytes: number;
  /** Most entries (of any type) the archive may have. */
  maxEntries: number;
  /**
   * Most times the archive's own size its file data may be, once past
   * RATIO_FREE bytes. A real root compresses 3 to 10 times; a 10 MB gzip of
   * zeros expands a thousand times.
   */
  maxRatio: number;
  /**
   * Keep character and block device nodes. Off by default: the container
   * runtime and LXC make their own /dev, and a node from an untrusted
   * archive (a disk, /dev/mem) is a way into the host for whoever opens it.
   */
  devices: boolean;
}

export const DEFAULT_LIMITS: UnpackLimits = {
  maxBytes: 16 * 1024 ** 3,
  maxEntries: 4_000_000,
  maxRatio: 200,
  devices: false,
};
/** Data an archive may always expand to whatever its ratio: small archives of sparse files are fine. */
export const RATIO_FREE = 1024 ** 3;

export interface RootWriterOptions {
  limits?: Partial<UnpackLimits> | undefined;
  /** Size of the archive file, for the expansion ratio (unknown: no ratio limit). */
  archiveBytes?: number;
  /**
   * Layer mode (OCI/Docker): `.wh.` entries delete from the root, and an entry
   * may replace what a lower layer left at its path. Off for plain archives,
   * where a second entry at a symlink's path is refused.
   */
  layer?: boolean;
  /** Called every few hundred entries with the running totals. */
  onProgress?: ((entries: number, bytes: number) => void) | undefined;
}

/** Kinds the writer remembers for every path it created (rel path -> kind). */
type Kind = 'd' | 'f' | 'l' | 'o';

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/**
 * Writes archive entries under `root` and nothing outside it. Every parent
 * directory is proven to be a real directory inside the root (created by this
 * writer or found by lstat), so no entry is ever written through a symlink,
 * whether an earlier entry or something already in the root planted it (in
 * layer mode such a symlink is resolved inside the root instead).
 * Names with `..` or a leading `/` and hardlinks leaving the root are refused.
 * Directory metadata is applied last (their mtimes change as children are
 * added), xattrs after chown (which clears security.capability).
 */
export class RootWriter implements EntrySink {
  private readonly root: string;
  private readonly limits: UnpackLimits;
  /** Bytes of file data allowed: the smaller of maxBytes and the ratio bound. */
  private readonly budget: number;
  private readonly layer: boolean;
  /** The root was empty at the start: a path absent from `known` is absent on disk. */
  private readonly fresh: boolean;
  private readonly known = new Map<string, Kind>();
  private readonly realDirs = new Set<string>(['']);
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly xattrs: Array<[string, string, Buffer]> = [];
  /** Paths this layer wrote, for opaque whiteouts. */
  private readonly thisLayer = new Set<string>();
  private readonly opaque: string[] = [];
  private readonly umask: number;
  private readonly onProgress: ((entries: number, bytes: number) => void) | undefined;
  private fd = -1;
  private file: { h: EntryHeader; rel: string; written: number } | undefined;
  entries = 0;
  bytes = 0;
  /** Device nodes left out (limits.devices off), by entry name. */
  readonly droppedDevices: string[] = [];

  constructor(root: string, opts: RootWriterOptions = {}) {
    this.root = fs.realpathSync(root);
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.budget =
      opts.archiveBytes === undefined
        ? this.limits.maxBytes
        : Math.min(this.limits.maxBytes, Math.max(RATIO_FREE, opts.archiveBytes * this.limits.maxRatio));
    this.layer = opts.layer ?? false;
    this.onProgress = opts.onProgress;
    this.fresh = fs.readdirSync(this.root).length === 0;
    const um = process.umask(0o022);
    process.umask(um);
    this.umask = um;
  }

  begin(h: EntryHeader): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new UnsafeArchiveError(
        `archive has more than ${this.limits.maxEntries} entries (at "${h.name}"); refusing to unpack it (source.unpack.max_entries raises the limit)`,
      );
    }
    if (this.onProgress && this.entries % 512 === 0) this.onProgress(this.entries, this.bytes);
    const named = this.relPath(h.name, h.name);
    if (named === '') {
      if (h.type !== 'dir')
        throw new UnsafeArchiveError(`entry "${h.name}" would replace the root directory with a ${h.type}`);
      this.dirMeta.set('', meta(h));
      this.xattr('', h);
      return;
    }
    const base = named.slice(named.lastIndexOf('/') + 1);
    if (this.layer && base.startsWith('.wh.')) {
      this.whiteout(h, this.parent(named, h.name, false), base);
      return;
    }
    const rel = this.parent(named, h.name);
    if (this.layer) this.thisLayer.add(rel);
    switch (h.type) {
      case 'file':
        return this.beginFile(h, rel);
      case 'dir':
        return this.dir(h, rel);
      case 'symlink':
        return this.symlink(h, rel);
      case 'hardlink':
        return this.hardlink(h, rel);
      case 'char':
      case 'block':
        if (!this.limits.devices) {
          this.droppedDevices.push(h.name);
          return;
        }
        return this.special(h, rel);
      case 'fifo':
        return this.special(h, rel);
    }
  }

  data(chunk: Buffer): void {
    const f = this.file;
    if (!f) return;
    f.written += chunk.length;
    if (f.written > f.h.size) {
      throw new UnsafeArchiveError(`entry "${f.h.name}" has more data than its declared ${f.h.size} bytes`);
    }
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
  }

  end(): void {
    const f = this.file;
    if (!f) return;
    const fd = this.fd;
    this.file = undefined;
    this.fd = -1;
    try {
      if (f.written !== f.h.size) {
        throw new UnsafeArchiveError(`entry "${f.h.name}" ended after ${f.written} of its ${f.h.size} bytes`);
      }
      const h = f.h;
      // A file created by root in a plain directory is already root-owned.
      if (h.uid !== 0 || h.gid !== 0 || !this.fresh) fs.fchownSync(fd, h.uid, h.gid);
      if ((h.mode & 0o7000) !== 0 || (h.mode & this.umask) !== 0 || h.uid !== 0 || h.gid !== 0)
        fs.fchmodSync(fd, h.mode);
      fs.futimesSync(fd, h.mtime, h.mtime);
    } finally {
      fs.closeSync(fd);
    }
    this.xattr(f.rel, f.h);
  }

  /** Applies what had to wait for the last entry; call once after the archive ended. */
  finish(): void {
    for (const dir of this.opaque) this.clearOpaque(dir);
    const dirs = [...this.dirMeta.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, m] of dirs) {
      if (!this.realDirs.has(rel)) continue;
      const abs = this.abs(rel);
      fs.lchownSync(abs, m.uid, m.gid);
      fs.chmodSync(abs, m.mode);
      fs.utimesSync(abs, m.mtime, m.mtime);
    }
    this.applyXattrs();
    this.onProgress?.(this.entries, this.bytes);
  }

  /** Closes a file left open by an error; the caller then removes what was written. */
  abort(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.file = undefined;
  }

  private beginFile(h: EntryHeader, rel: string): void {
    this.bytes += h.size;
    // Checked against the declared size, before a byte of the entry is written.
    if (this.bytes > this.budget) {
      const [why, key] =
        this.budget < this.limits.maxBytes
          ? [`${this.limits.maxRatio} times the archive's size`, 'max_ratio']
          : [`the ${this.limits.maxBytes}-byte limit`, 'max_size'];
      throw new UnsafeArchiveError(
        `archive expands to more than ${why} at entry "${h.name}" (${h.size} bytes); refusing to unpack it (source.unpack.${key} raises the limit)`,
      );
    }
    this.clearFinal(h, rel);
    const abs = this.abs(rel);
    this.fd = fs.openSync(abs, CREATE_FLAGS, h.mode & 0o777);
    this.known.set(rel, 'f');
    this.file = { h, rel, written: 0 };
    if (h.size === 0) this.end();
  }

  private dir(h: EntryHeader, rel: string): void {
    const kind = this.kindOf(rel);
    // keep-dirlinks: a layer's directory entry does not replace a lower layer's
    // symlink to a directory (merged /usr keeps /bin -> usr/bin).
    if (kind === 'l' && this.layer && this.dirlinkTarget(rel, h.name) !== undefined) return;
    if (kind !== 'd') {
      if (kind !== undefined) this.clearFinal(h, rel);
      fs.mkdirSync(this.abs(rel), 0o700);
      this.known.set(rel, 'd');
    }
    this.realDirs.add(rel);
    this.dirMeta.set(rel, meta(h));
    this.xattr(rel, h);
  }

  private symlink(h: EntryHeader, rel: string): void {
    const target = h.linkname ?? '';
    if (target === '') throw new UnsafeArchiveError(`entry "${h.name}" is a symlink with an empty target`);
    // Replacing a symlink by a symlink writes nothing through it.
    this.clearFinal(h, rel, true);
    const abs = this.abs(rel);
    fs.symlinkSync(target, abs);
    this.known.set(rel, 'l');
    fs.lchownSync(abs, h.uid, h.gid);
    fs.lutimesSync(abs, h.mtime, h.mtime);
  }

  private hardlink(h: EntryHeader, rel: string): void {
    const named = this.relPath(h.linkname ?? '', h.name, 'hardlink target');
    if (named === '') throw new UnsafeArchiveError(`entry "${h.name}" is a hardlink to the root directory`);
    const target = this.parent(named, h.name, false);
    const kind = this.kindOf(target);
    if (kind === undefined) {
      throw new UnsafeArchiveError(
        `entry "${h.name}" is a hardlink to "${h.linkname}", which is not in the archive before it`,
      );
    }
    if (kind === 'd') throw new UnsafeArchiveError(`entry "${h.name}" is a hardlink to the directory "${h.linkname}"`);
    if (target === rel) return;
    this.clearFinal(h, rel);
    fs.linkSync(this.abs(target), this.abs(rel));
    this.known.set(rel, kind);
  }

  private special(h: EntryHeader, rel: string): void {
    this.clearFinal(h, rel);
    const abs = this.abs(rel);
    const args =
      h.type === 'fifo'
        ? ['-m', octal(h.mode), abs, 'p']
        : ['-m', octal(h.mode), abs, h.type === 'char' ? 'c' : 'b', String(h.devmajor ?? 0), String(h.devminor ?? 0)];
    // Node has no mknod(2); the coreutils tool is the portable way to make these few nodes.
    const r = spawnSync('mknod', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr.trim();
      throw new UnsafeArchiveError(`entry "${h.name}": cannot create ${h.type} node: ${why}`);
    }
    this.known.set(rel, 'o');
    fs.lchownSync(abs, h.uid, h.gid);
    if ((h.mode & 0o7000) !== 0 || h.uid !== 0 || h.gid !== 0) fs.chmodSync(abs, h.mode);
    fs.utimesSync(abs, h.mtime, h.mtime);
    this.xattr(rel, h);
  }

  private whiteout(h: EntryHeader, rel: string, base: string): void {
    const slash = rel.lastIndexOf('/');
    const dir = slash < 0 ? '' : rel.slice(0, slash);
    if (base === '.wh..wh..opq') {
      this.opaque.push(dir);
      return;
    }
    const victim = (dir ? `${dir}/` : '') + base.slice('.wh.'.length);
    if (victim === dir || base === '.wh.' || base === '.wh..' || base === '.wh...') {
      throw new UnsafeArchiveError(`entry "${h.name}" is a malformed whiteout`);
    }
    if (this.kindOf(victim) !== undefined) this.remove(victim);
  }

  private clearOpaque(dir: string): void {
    if (this.kindOf(dir) !== 'd') return;
    for (const name of fs.readdirSync(this.abs(dir))) {
      const rel = dir ? `${dir}/${name}` : name;
      if (!this.thisLayer.has(rel)) this.remove(rel);
    }
  }

  private remove(rel: string): void {
    fs.rmSync(this.abs(rel), { recursive: true, force: true });
    for (const map of [this.known, this.dirMeta] as const) {
      map.delete(rel);
      for (const k of map.keys()) if (k.startsWith(`${rel}/`)) map.delete(k);
    }
    this.realDirs.delete(rel);
    for (const k of this.realDirs) if (k.startsWith(`${rel}/`)) this.realDirs.delete(k);
  }

  /**
   * Makes room at `rel` for a new entry. An existing symlink is never
   * written through: a plain archive that puts another entry at a symlink's
   * path is refused; a layer replaces it.
   */
  private clearFinal(h: EntryHeader, rel: string, replacingIsSafe = false): void {
    const kind = this.kindOf(rel);
    if (kind === undefined) return;
    if (kind === 'l' && !replacingIsSafe && !this.layer) {
      throw new UnsafeArchiveError(`entry "${h.name}" would write through the symlink "${rel}" from an earlier entry`);
    }
    if (kind === 'd') {
      if (!this.layer)
        throw new UnsafeArchiveError(`entry "${h.name}" (${h.type}) would replace the directory "${rel}"`);
      this.remove(rel);
      return;
    }
    fs.unlinkSync(this.abs(rel));
    this.known.delete(rel);
  }

  /**
   * Proves every directory above `rel` is a real directory inside the root,
   * creating missing ones when `create` is set, and returns the path to
   * write. Plain archives never pass a symlink; in layer mode a symlinked
   * parent from a lower layer is resolved inside the root (keep-dirlinks).
   */
  private parent(rel: string, name: string, create = true): string {
    const slash = rel.lastIndexOf('/');
    if (slash < 0) return rel;
    const dir = rel.slice(0, slash);
    if (this.realDirs.has(dir)) return rel;
    let at = 0;
    for (;;) {
      const next = dir.indexOf('/', at);
      const p = next < 0 ? dir : dir.slice(0, next);
      if (!this.realDirs.has(p)) {
        const kind = this.kindOf(p);
        if (kind === 'l' && this.layer) {
          const resolved = this.dirlinkTarget(p, name);
          if (resolved === undefined)
            throw new UnsafeArchiveError(
              `entry "${name}": the symlink "${p}" does not lead to a directory inside the root`,
            );
          const rest = rel.slice(p.length + 1);
          return this.parent(resolved === '' ? rest : `${resolved}/${rest}`, name, create);
        }
        if (kind === 'l') throw new UnsafeArchiveError(`entry "${name}" would be written through the symlink "${p}"`);
        if (kind !== undefined && kind !== 'd')
          throw new UnsafeArchiveError(`entry "${name}": "${p}" is not a directory`);
        if (kind === undefined) {
          if (!create) throw new UnsafeArchiveError(`entry "${name}": directory "${p}" does not exist`);
          fs.mkdirSync(this.abs(p), 0o755);
          this.known.set(p, 'd');
        }
        this.realDirs.add(p);
      }
      if (next < 0) return rel;
      at = next + 1;
    }
  }

  /**
   * Where the symlink at `rel` leads when resolved inside the root (as if the
   * root were `/`: absolute targets start at the root, `..` stops there), if
   * that is an existing directory; undefined otherwise.
   */
  private dirlinkTarget(rel: string, name: string): string | undefined {
    let queue = rel.split('/');
    const cur: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur.pop();
        continue;
      }
      const cand = cur.length ? `${cur.join('/')}/${c}` : c;
      const kind = this.kindOf(cand);
      if (kind === 'l') {
        if (++hops > 40) throw new UnsafeArchiveError(`entry "${name}": too many levels of symlinks at "${cand}"`);
        const target = fs.readlinkSync(this.abs(cand));
        if (target.startsWith('/')) cur.length = 0;
        queue = [...target.split('/'), ...queue];
        continue;
      }
      if (kind !== 'd') return undefined;
      cur.push(c);
      this.realDirs.add(cur.join('/'));
    }
    return cur.join('/');
  }

  /** What is at `rel`: from memory for a fresh root, else from lstat. */
  private kindOf(rel: string): Kind | undefined {
    const k = this.known.get(rel);
    if (k !== undefined || this.fresh) return k;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(this.abs(rel));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const kind: Kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
    this.known.set(rel, kind);
    return kind;
  }

  /** The archive name as a normalized path relative to the root; '' is the root itself. */
  private relPath(name: string, entry: string, what = 'entry'): string {
    if (name === '') throw new UnsafeArchiveError(`entry "${entry}": empty ${what} name`);
    if (name.startsWith('/')) {
      throw new UnsafeArchiveError(
        `entry "${entry}": ${what} "${name}" is an absolute path; archives must use names relative to the root`,
      );
    }
    // Most names are already clean ("usr/bin/ls"); only odd ones are split and rebuilt.
    if (!CLEAN_NAME.test(name)) return name;
    const parts: string[] = [];
    for (const part of name.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..')
        throw new UnsafeArchiveError(
          `entry "${entry}": ${what} "${name}" has a ".." component and could land outside the root`,
        );
      parts.push(part);
    }
    return parts.join('/');
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private xattr(rel: string, h: EntryHeader): void {
    if (!h.xattrs) return;
    for (const [name, value] of h.xattrs) this.xattrs.push([rel, name, value]);
  }

  /** Node cannot set xattrs; one setfattr run restores them all, not following symlinks. */
  private applyXattrs(): void {
    if (this.xattrs.length === 0) return;
    let dump = '';
    let last: string | undefined;
    for (const [rel, name, value] of this.xattrs) {
      if (!this.known.has(rel) && rel !== '') continue;
      if (rel !== last) {
        dump += `\n# file: ${escapeName(rel === '' ? '.' : rel)}\n`;
        last = rel;
      }
      dump += `${escapeName(name)}=0s${value.toString('base64')}\n`;
    }
    const r = spawnSync('setfattr', ['-h', '--restore=-'], {
      cwd: this.root,
      input: Buffer.from(dump, 'latin1'),
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr.trim().split('\n')[0];
      throw new UnsafeArchiveError(`cannot restore extended attributes (setfattr from the attr package): ${why}`);
    }
  }
}

function meta(h: EntryHeader): DirMeta {
  return { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime };
}

function depth(rel: string): number {
  if (rel === '') return 0;
  let n = 1;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) n++;
  return n;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** getfattr's quoting: control characters, backslash, '=' as \ooo octal; the result is latin1 (one char per byte). */
function escapeName(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    out +=
      byte < 0x21 || byte === 0x5c || byte === 0x3d || byte === 0x7f
        ? `\\${byte.toString(8).padStart(3, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}
