import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Feeds a file's bytes to every hash given and returns its size. */
export async function hashFileInto(path: string, hashes: Hash[]): Promise<number> {
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const b = chunk as Buffer;
    size += b.length;
    for (const h of hashes) h.update(b);
  }
  return size;
}

export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  const size = await hashFileInto(path, [h]);
  return { sha256: h.digest('hex'), size };
}
