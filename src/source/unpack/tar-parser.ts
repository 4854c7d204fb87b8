import { UnsafeArchiveError } from '../errors.js';
import type { EntryHeader, EntrySink, EntryType } from './entry.js';

const BLOCK = 512;
/** PAX and GNU long-name records are metadata: anything bigger is an attack, not a name. */
const MAX_META_RECORD = 1 << 20;

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Array<[string, Buffer]>;
  sparse?: boolean;
}

type State =
  | { kind: 'header' }
  | { kind: 'data'; remaining: number; padding: number }
  | { kind: 'meta'; what: 'x' | 'g' | 'L' | 'K'; remaining: number; padding: number; parts: Buffer[] }
  | { kind: 'skip'; remaining: number }
  | { kind: 'end' };

/**
 * A push parser for POSIX ustar/pax and GNU tar streams. Synchronous on
 * purpose: the sink writes with synchronous syscalls, and keeping the whole
 * per-entry path on one stack is what makes unpacking as fast as GNU tar.
 */
export class TarParser {
  private state: State = { kind: 'header' };
  private pending: Buffer | undefined;
  private pax: PaxOverrides = {};
  private globalPax: PaxOverrides = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private current: EntryHeader | undefined;
  private zeroBlocks = 0;
  /** Bytes consumed so far, for error messages. */
  offset = 0;

  constructor(private readonly sink: EntrySink) {}

  get ended(): boolean {
    return this.state.kind === 'end';
  }

  push(input: Buffer): void {
    let chunk = input;
    if (this.pending) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const st = this.state;
      switch (st.kind) {
        case 'end':
          return;
        case 'header': {
          if (len - pos < BLOCK) {
            this.pending = Buffer.from(chunk.subarray(pos));
            return;
          }
          this.header(chunk.subarray(pos, pos + BLOCK));
          pos += BLOCK;
          this.offset += BLOCK;
          break;
        }
        case 'data': {
          pos = this.body(st, chunk, pos, this.toSink);
          if (st.remaining === 0 && st.padding === 0) {
            this.sink.end();
            this.current = undefined;
            this.state = { kind: 'header' };
          }
          break;
        }
        case 'meta': {
          // Copied: the chunk's memory is reused once push returns.
          pos = this.body(st, chunk, pos, (part) => st.parts.push(Buffer.from(part)));
          if (st.remaining === 0 && st.padding === 0) {
            this.meta(st.what, Buffer.concat(st.parts));
            this.state = { kind: 'header' };
          }
          break;
        }
        case 'skip': {
          const n = Math.min(st.remaining, len - pos);
          st.remaining -= n;
          pos += n;
          this.offset += n;
          if (st.remaining === 0) this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  private readonly toSink = (part: Buffer): void => this.sink.data(part);

  /**
   * Hands what `chunk` holds of a record's body, from `pos`, to `take`, then
   * skips what it holds of the padding to the next block; returns the new
   * position. The record is complete once both counts reach 0.
   */
  private body(
    st: { remaining: number; padding: number },
    chunk: Buffer,
    pos: number,
    take: (part: Buffer) => void,
  ): number {
    if (st.remaining > 0) {
      const n = Math.min(st.remaining, chunk.length - pos);
      take(chunk.subarray(pos, pos + n));
      st.remaining -= n;
      this.offset += n;
      pos += n;
      if (st.remaining > 0) return pos;
    }
    const skip = Math.min(st.padding, chunk.length - pos);
    st.padding -= skip;
    this.offset += skip;
    return pos + skip;
  }

  /** Called at the end of the stream: a cut-off archive is an error, not a short root. */
  finish(): void {
    if (this.state.kind === 'end') return;
    // An archive may end at an entry boundary without the two zero blocks.
    if (this.state.kind === 'header' && !this.pending) {
      if (this.offset === 0) throw new UnsafeArchiveError('tar: the archive is empty');
      this.state = { kind: 'end' };
      return;
    }
    const where = this.current ? ` inside entry "${this.current.name}"` : '';
    throw new UnsafeArchiveError(`tar: archive is truncated at byte ${this.offset}${where}`);
  }

  private header(block: Buffer): void {
    if (isZero(block)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = { kind: 'end' };
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(block)) {
      throw new UnsafeArchiveError(`tar: bad header checksum at byte ${this.offset}; not a tar archive or corrupt`);
    }
    const typeflag = String.fromCharCode(block[156]!);
    const size = num(block, 124, 12);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META_RECORD) {
        throw new UnsafeArchiveError(
          `tar: metadata record of ${size} bytes at byte ${this.offset} exceeds ${MAX_META_RECORD}`,
        );
      }
      this.state = { kind: 'meta', what: typeflag, remaining: size, padding, parts: [] };
      if (size === 0) {
        this.meta(typeflag, Buffer.alloc(0));
        this.state = { kind: 'header' };
      }
      return;
    }
    const ustar = block.toString('latin1', 257, 263);
    // GNU headers reuse the ustar prefix field for other data.
    const prefix = ustar === 'ustar\0' ? cstr(block, 345, 155) : '';
    let name = cstr(block, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    const pax = { ...this.globalPax, ...this.pax };
    if (this.longName !== undefined) name = this.longName;
    if (pax.path !== undefined) name = pax.path;
    let linkname = cstr(block, 157, 100);
    if (this.longLink !== undefined) linkname = this.longLink;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;

    if (typeflag === 'V') {
      this.state = { kind: 'skip', remaining: size + padding };
      if (size + padding === 0) this.state = { kind: 'header' };
      return;
    }
    if (typeflag === 'S' || pax.sparse) {
      throw new UnsafeArchiveError(`tar: entry "${name}" is a sparse file, which kiln does not unpack`);
    }
    let type = TYPES[typeflag];
    // GNU dumpdir entries carry a listing as data; the directory is what matters.
    if (typeflag === 'D') type = 'dir';
    if (type === undefined) {
      throw new UnsafeArchiveError(`tar: entry "${name}" has unsupported type '${printable(typeflag)}'`);
    }
    const realSize = pax.size ?? size;
    // Old tars mark directories only by a trailing slash.
    if (type === 'file' && name.endsWith('/')) type = 'dir';
    const h: EntryHeader = {
      name,
      type,
      mode: num(block, 100, 8) & 0o7777,
      uid: pax.uid ?? num(block, 108, 8),
      gid: pax.gid ?? num(block, 116, 8),
      mtime: pax.mtime ?? num(block, 136, 12),
      size: type === 'file' ? realSize : 0,
    };
    if (type === 'symlink' || type === 'hardlink') h.linkname = linkname;
    if (type === 'char' || type === 'block') {
      h.devmajor = num(block, 329, 8);
      h.devminor = num(block, 337, 8);
    }
    if (pax.xattrs && pax.xattrs.length > 0) h.xattrs = pax.xattrs;
    this.current = h;
    this.sink.begin(h);
    const dataBytes = typeflag === 'D' || type === 'file' ? realSize : 0;
    const pad = (BLOCK - (dataBytes % BLOCK)) % BLOCK;
    if (typeflag === 'D') {
      this.sink.end();
      this.current = undefined;
      this.state = dataBytes + pad === 0 ? { kind: 'header' } : { kind: 'skip', remaining: dataBytes + pad };
      return;
    }
    if (dataBytes === 0) {
      this.sink.end();
      this.current = undefined;
      return;
    }
    this.state = { kind: 'data', remaining: dataBytes, padding: pad };
  }

  private meta(what: 'x' | 'g' | 'L' | 'K', body: Buffer): void {
    if (what === 'L') this.longName = cstr(body, 0, body.length);
    else if (what === 'K') this.longLink = cstr(body, 0, body.length);
    else if (what === 'x') this.pax = parsePax(body, this.offset);
    else this.globalPax = { ...this.globalPax, ...parsePax(body, this.offset) };
  }
}

function parsePax(body: Buffer, offset: number): PaxOverrides {
  const out: PaxOverrides = {};
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number(body.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) {
      throw new UnsafeArchiveError(`tar: malformed pax record before byte ${offset}`);
    }
    const rec = body.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    pos += len;
    if (eq < 0) continue;
    const key = rec.toString('utf8', 0, eq);
    const raw = rec.subarray(eq + 1);
    const value = raw.toString('utf8');
    switch (key) {
      case 'path':
        out.path = value;
        break;
      case 'linkpath':
        out.linkpath = value;
        break;
      case 'size':
        out.size = paxNumber(value, key, offset);
        break;
      case 'uid':
        out.uid = paxNumber(value, key, offset);
        break;
      case 'gid':
        out.gid = paxNumber(value, key, offset);
        break;
      case 'mtime':
        out.mtime = Number(value);
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          (out.xattrs ??= []).push([key.slice('SCHILY.xattr.'.length), Buffer.from(raw)]);
        } else if (key.startsWith('LIBARCHIVE.xattr.')) {
          const name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
          (out.xattrs ??= []).push([name, Buffer.from(value, 'base64')]);
        } else if (key.startsWith('GNU.sparse.')) {
          out.sparse = true;
        }
    }
  }
  return out;
}

function paxNumber(v: string, key: string, offset: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UnsafeArchiveError(`tar: pax ${key}="${v}" before byte ${offset} is not a valid number`);
  return n;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 8) if (b.readBigUInt64LE(i) !== 0n) return false;
  return true;
}

function checksumOk(b: Buffer): boolean {
  const stored = num(b, 148, 8);
  let unsigned = 0;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) {
    // The checksum field itself counts as eight spaces.
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    if (c > 127) high++;
  }
  // Old tars summed signed chars: each byte above 127 counts 256 less.
  return stored === unsigned || stored === unsigned - 256 * high;
}

/** Octal ASCII, or GNU base-256 when the high bit of the first byte is set. */
function num(b: Buffer, off: number, len: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    let v = first & 0x3f;
    if (first & 0x40) throw new UnsafeArchiveError('tar: negative base-256 number in header');
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  let v = 0;
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function printable(c: string): string {
  return /^[\x20-\x7e]$/.test(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
