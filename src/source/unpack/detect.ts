import { open } from 'node:fs/promises';

export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.xz' | 'tar.zst' | 'tar.bz2' | 'zip' | 'squashfs';

/** The decompressor command for each compressed tar, reading stdin or a file. */
export const DECOMPRESSORS: Record<'tar.gz' | 'tar.xz' | 'tar.zst' | 'tar.bz2', { cmd: string; args: string[] }> = {
  'tar.gz': { cmd: 'gzip', args: ['-dc'] },
  // Threaded decompression helps on multi-block xz files and costs nothing on others.
  'tar.xz': { cmd: 'xz', args: ['-T0', '-dc'] },
  'tar.zst': { cmd: 'zstd', args: ['-dcq'] },
  'tar.bz2': { cmd: 'bzip2', args: ['-dc'] },
};

/** Recognizes an archive from its first bytes; names lie, magic numbers rarely do. */
export function detectFormat(head: Buffer): ArchiveFormat | undefined {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'tar.gz';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'tar.xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'tar.zst';
  if (starts(0x42, 0x5a, 0x68)) return 'tar.bz2';
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) return 'zip';
  if (starts(0x68, 0x73, 0x71, 0x73)) return 'squashfs';
  if (head.length >= 263 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  if (head.length >= 512 && looksLikeV7Tar(head)) return 'tar';
  return undefined;
}

function looksLikeV7Tar(b: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  const stored = parseInt(
    b
      .toString('latin1', 148, 156)
      .replace(/[\0 ]+/g, ' ')
      .trim(),
    8,
  );
  return b[0] !== 0 && stored === sum;
}

export async function readHead(file: string, n = 512): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
