import type { Stats } from 'node:fs';

export interface CachedFile {
  body: Buffer;
  stat: Stats;
  rel: string;
  expires: number;
}

/**
 * A one-second memory of small files (the indexes every client asks for),
 * like nginx's open_file_cache: it saves the path resolution and the
 * open/stat/read/close of each request. Indexes are replaced atomically by
 * publishers, so a client sees a new index at most a second late; large files
 * are never cached, they are streamed.
 */
export class SmallFileCache {
  private readonly entries = new Map<string, CachedFile>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    readonly maxSize: number,
  ) {}

  get(key: string, now: number): CachedFile | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, body: Buffer, stat: Stats, rel: string, now: number): void {
    if (this.ttlMs <= 0 || body.length > this.maxSize) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { body, stat, rel, expires: now + this.ttlMs });
  }
}
