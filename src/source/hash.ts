import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** Hex digest of a file, streamed so large archives do not sit in memory. */
export async function hashFile(file: string, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
