import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

async function feed(hash: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await feed(hash, file);
  return hash.digest('hex');
}

/** The simplestreams image fingerprint: sha256 over the files' bytes, one after the other. */
export async function sha256Concat(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) await feed(hash, f);
  return hash.digest('hex');
}
