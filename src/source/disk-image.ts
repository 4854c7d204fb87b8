import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import { SourceError } from './errors.js';

export interface Partition {
  /** 1-based, as partx and the kernel number them. */
  number: number;
  start: number;
  size: number;
  /** GPT type GUID or MBR type byte as hex. */
  type: string;
}

const SECTOR = 512;

/**
 * Decompresses a gzip'd disk image; Node's gunzip stops at the end of the
 * gzip member, so the signature block OpenWrt appends (which makes `gzip -d`
 * exit 2) is ignored.
 */
export async function gunzipFile(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  await pipeline(createReadStream(src), createGunzip(), createWriteStream(dest), ...(signal ? [{ signal }] : []));
}

function guid(b: Buffer): string {
  const h = b.toString('hex');
  const le = (s: string): string => s.match(/../g)!.reverse().join('');
  return `${le(h.slice(0, 8))}-${le(h.slice(8, 12))}-${le(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
}

/** The partitions of a raw disk image: GPT when LBA 1 says `EFI PART`, else the MBR's four primary entries. */
export async function readPartitions(image: string, what: string): Promise<Partition[]> {
  const fh = await open(image, 'r');
  try {
    const head = Buffer.alloc(SECTOR * 2);
    await fh.read(head, 0, head.length, 0);
    if (head.readUInt16LE(510) !== 0xaa55)
      throw new SourceError(`${what}: no partition table (no MBR signature); not a disk image`);
    if (head.toString('latin1', SECTOR, SECTOR + 8) === 'EFI PART') {
      const entriesLba = Number(head.readBigUInt64LE(SECTOR + 72));
      const count = head.readUInt32LE(SECTOR + 80);
      const entrySize = head.readUInt32LE(SECTOR + 84);
      if (count > 1024 || entrySize < 128 || entrySize > 4096)
        throw new SourceError(`${what}: implausible GPT header (${count} entries of ${entrySize} bytes)`);
      const table = Buffer.alloc(count * entrySize);
      await fh.read(table, 0, table.length, entriesLba * SECTOR);
      const out: Partition[] = [];
      for (let i = 0; i < count; i++) {
        const e = table.subarray(i * entrySize, (i + 1) * entrySize);
        if (e.subarray(0, 16).every((x) => x === 0)) continue;
        const first = Number(e.readBigUInt64LE(32));
        const last = Number(e.readBigUInt64LE(40));
        out.push({
          number: i + 1,
          start: first * SECTOR,
          size: (last - first + 1) * SECTOR,
          type: guid(e.subarray(0, 16)),
        });
      }
      return out;
    }
    const out: Partition[] = [];
    for (let i = 0; i < 4; i++) {
      const e = head.subarray(446 + i * 16, 446 + (i + 1) * 16);
      const type = e[4]!;
      const first = e.readUInt32LE(8);
      const sectors = e.readUInt32LE(12);
      if (type === 0 || sectors === 0) continue;
      out.push({
        number: i + 1,
        start: first * SECTOR,
        size: sectors * SECTOR,
        type: type.toString(16).padStart(2, '0'),
      });
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Whether the partition holds an ext2/3/4 file system (superblock magic 0xEF53). */
export async function isExtFilesystem(image: string, p: Partition): Promise<boolean> {
  const fh = await open(image, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, p.start + 1024 + 56);
    return b.readUInt16LE(0) === 0xef53;
  } finally {
    await fh.close();
  }
}

/**
 * Copies an ext file system out of a disk image into `dest` with debugfs
 * `rdump` (e2fsprogs): no mount, no loop device, nothing to clean up on the
 * host. debugfs keeps modes, owners and times of files and directories;
 * it skips device nodes and FIFOs, and hardlinks become copies.
 */
export async function dumpExtPartition(
  image: string,
  p: Partition,
  dest: string,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const r = await execa('debugfs', ['-R', `rdump / ${dest}`, `${image}?offset=${p.start}`], {
    reject: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  const errors = String(r.stderr)
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^debugfs \d/.test(l));
  if (r.exitCode !== 0 || errors.length > 0) {
    throw new SourceError(
      `${what}: debugfs could not read partition ${p.number} (${errors[0] ?? `exit ${r.exitCode}`})`,
      { details: errors.slice(1, 10) },
    );
  }
  // mke2fs's lost+found is not part of anyone's root.
  const lf = path.join(dest, 'lost+found');
  if ((await readdir(lf).catch(() => undefined))?.length === 0) await rm(lf, { recursive: true });
}
