/**
 * POSIX (pax) tar headers, byte for byte under our control. tar-stream's
 * packer writes PAX values as UTF-8 strings, which corrupts binary xattr
 * values such as `security.capability`, and it cannot carry ids above the
 * ustar limit; the header bytes are also part of what makes artifacts
 * reproducible, so they are encoded here.
 */

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

/** What a tar header says of one inode, whatever its name in the archive. */
export interface InodeFields {
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content that follow the header (0 for everything but files). */
  size: number;
  /** Whole seconds. */
  mtime: number;
  /** Symlink target, or for `link` the name of the first occurrence of the inode. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export interface TarEntry extends InodeFields {
  /** Full member name as it appears in the archive (`./bin/sh`, `rootfs/etc/`, `metadata.yaml`). */
  name: string;
  /** Extended attributes, stored as PAX `SCHILY.xattr.<name>` records (GNU tar's format). */
  xattrs?: Map<string, Buffer>;
}

const TYPEFLAG: Record<TarType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

export const END_OF_ARCHIVE: Buffer = Buffer.alloc(BLOCK * 2);

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  // width includes the terminating NUL, as GNU tar writes it.
  const digits = value.toString(8).padStart(width - 1, '0');
  buf.write(digits, offset, width - 1, 'ascii');
  buf[offset + width - 1] = 0;
}

function writeString(buf: Buffer, offset: number, width: number, value: Buffer): void {
  value.copy(buf, offset, 0, Math.min(width, value.length));
}

/** Splits a name into ustar prefix and name fields, or null if it cannot be done. */
function splitUstarName(name: Buffer): { prefix: Buffer; name: Buffer } | null {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  // The split must happen at a slash, prefix <= 155 bytes and rest <= 100.
  for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
    if (name[i] === 0x2f && name.length - i - 1 <= 100 && name.length - i - 1 > 0) {
      return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
    }
  }
  return null;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length prefix counts itself, so grow it until it is consistent.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function isAscii(b: Buffer): boolean {
  for (const c of b) if (c >= 0x80) return false;
  return true;
}

function ustarBlock(
  name: Buffer,
  prefix: Buffer,
  e: {
    type: TarType | 'pax';
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtime: number;
    linkname: Buffer;
    devmajor: number;
    devminor: number;
  },
): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, e.mode & 0o7777);
  writeOctal(h, 108, 8, e.uid);
  writeOctal(h, 116, 8, e.gid);
  writeOctal(h, 124, 12, e.size);
  writeOctal(h, 136, 12, e.mtime);
  h.fill(0x20, 148, 156);
  h.write(e.type === 'pax' ? 'x' : TYPEFLAG[e.type], 156, 1, 'ascii');
  writeString(h, 157, 100, e.linkname);
  h.write('ustar\u000000', 257, 8, 'ascii');
  writeOctal(h, 329, 8, e.devmajor);
  writeOctal(h, 337, 8, e.devminor);
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const c of h) sum += c;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/**
 * The header blocks for one entry: an optional PAX extended header (with
 * its content and padding) followed by the ustar header. PAX records are
 * written in a fixed order so equal inputs give equal bytes.
 */
export function encodeHeader(e: TarEntry): Buffer {
  const nameBuf = Buffer.from(e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name, 'utf8');
  const linkBuf = Buffer.from(e.linkname ?? '', 'utf8');
  const records: Buffer[] = [];

  let split = isAscii(nameBuf) ? splitUstarName(nameBuf) : null;
  if (split === null) {
    records.push(paxRecord('path', nameBuf));
    split = { prefix: Buffer.alloc(0), name: asciiStandIn(nameBuf, 100) };
  }
  let link: Buffer = linkBuf;
  if (linkBuf.length > 100 || !isAscii(linkBuf)) {
    records.push(paxRecord('linkpath', linkBuf));
    link = asciiStandIn(linkBuf, 100);
  }
  let size = e.size;
  if (size > MAX_OCTAL_11) {
    records.push(paxRecord('size', Buffer.from(String(size))));
    size = 0;
  }
  let uid = e.uid;
  if (uid > MAX_OCTAL_7) {
    records.push(paxRecord('uid', Buffer.from(String(uid))));
    uid = 0;
  }
  let gid = e.gid;
  if (gid > MAX_OCTAL_7) {
    records.push(paxRecord('gid', Buffer.from(String(gid))));
    gid = 0;
  }
  if (e.xattrs) {
    for (const key of [...e.xattrs.keys()].sort()) {
      records.push(paxRecord(`SCHILY.xattr.${key}`, e.xattrs.get(key) as Buffer));
    }
  }

  const header = ustarBlock(split.name, split.prefix, {
    type: e.type,
    mode: e.mode,
    uid,
    gid,
    size,
    mtime: e.mtime,
    linkname: link,
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  });
  if (records.length === 0) return header;

  const pax = Buffer.concat(records);
  const base = nameBuf.toString('utf8').replace(/\/$/, '').split('/').pop() ?? '';
  const paxName = asciiStandIn(Buffer.from(`PaxHeaders/${base}`, 'utf8'), 100);
  const paxHeader = ustarBlock(paxName, Buffer.alloc(0), {
    type: 'pax',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: pax.length,
    mtime: e.mtime,
    linkname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, pax, padding(pax.length), header]);
}

/** An ASCII name for the ustar field when the real one lives in a PAX record. */
function asciiStandIn(b: Buffer, max: number): Buffer {
  const out = Buffer.from(b.toString('latin1').replace(/[^\x20-\x7e]/g, '_'), 'latin1');
  return out.length <= max ? out : out.subarray(out.length - max);
}
