import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import got, { type Request } from 'got';
import { MirrorError } from './errors.js';

/**
 * HTTP for the mirror: no automatic redirects (a redirect is followed only
 * on the upstream's own host), a byte cap on every body, resume of a partial
 * file with Range, and one counter and one rate limit shared by every
 * transfer of a run.
 */
export class Fetcher {
  /** Body bytes received in this run (indexes and files). */
  bytes = 0;
  /** Requests made in this run. */
  requests = 0;
  private readonly origin: string;
  private nextSlot = 0;

  constructor(
    readonly base: URL,
    private readonly limitRate: number | undefined,
  ) {
    this.origin = base.host;
  }

  private client(url: URL, headers: Record<string, string>): Request {
    this.requests++;
    return got.stream(url, {
      followRedirect: false,
      throwHttpErrors: false,
      decompress: false,
      retry: { limit: 0 },
      timeout: { connect: 30_000, response: 60_000 },
      headers: { 'user-agent': 'kiln-mirror', 'accept-encoding': 'identity', ...headers },
    });
  }

  /** Waits so the run stays under --limit-rate bytes a second (one budget for all transfers). */
  private async throttle(n: number): Promise<void> {
    if (!this.limitRate) return;
    const now = Date.now();
    const start = Math.max(now, this.nextSlot);
    this.nextSlot = start + (n / this.limitRate) * 1000;
    if (start > now) await sleep(start - now);
  }

  /**
   * Opens `url`, following redirects only while they stay on the upstream's
   * host, and returns the response stream once the status is known.
   */
  private async open(
    what: string,
    url: URL,
    headers: Record<string, string> = {},
  ): Promise<{ stream: Request; status: number; length: number | undefined }> {
    for (let hop = 0; hop < 5; hop++) {
      const stream = this.client(url, headers);
      const res = await new Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined> }>(
        (resolve, reject) => {
          stream.once('response', resolve);
          stream.once('error', (e: Error) =>
            reject(new MirrorError(`${what}: cannot fetch ${url.href}: ${e.message.split('\n')[0]}`)),
          );
        },
      );
      const status = res.statusCode;
      if (status >= 300 && status < 400 && typeof res.headers.location === 'string') {
        stream.destroy();
        const next = new URL(res.headers.location, url);
        if (next.host !== this.origin)
          throw new MirrorError(
            `${what}: ${url.href} redirects to another host (${next.host}); refused, a mirror only follows redirects on ${this.origin}`,
          );
        url = next;
        continue;
      }
      const len = Number(res.headers['content-length']);
      return { stream, status, length: Number.isFinite(len) ? len : undefined };
    }
    throw new MirrorError(`${what}: more than 5 redirects from ${url.href}`);
  }

  private counter(what: string, url: URL, max: number, hash?: Hash): Transform {
    let seen = 0;
    return new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        seen += chunk.length;
        this.bytes += chunk.length;
        if (seen > max) {
          cb(new MirrorError(`${what}: ${url.href} is larger than the ${max} bytes the upstream index gives`));
          return;
        }
        hash?.update(chunk);
        this.throttle(chunk.length).then(
          () => cb(null, chunk),
          (e: Error) => cb(e),
        );
      },
    });
  }

  /** A small document (index, product JSON, SHA256SUMS, signature); undefined on 404 when `optional`. */
  async text(what: string, rel: string, max: number, optional: boolean): Promise<string | undefined> {
    const url = new URL(rel, this.base);
    const { stream, status } = await this.open(what, url);
    if (status === 404 && optional) {
      stream.destroy();
      return undefined;
    }
    if (status !== 200) {
      stream.destroy();
      throw new MirrorError(`${what}: ${url.href} answered HTTP ${status}`);
    }
    const chunks: Buffer[] = [];
    await pipeline(
      stream,
      this.counter(what, url, max),
      new Writable({
        write(c: Buffer, _enc, cb) {
          chunks.push(c);
          cb();
        },
      }),
    );
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Downloads `rel` to `dest` and checks its size and sha256 on the way.
   * A partial `dest.part` from a killed run is continued with a Range
   * request. Only a verified file is renamed to `dest`.
   */
  async file(
    what: string,
    rel: string,
    dest: string,
    want: { sha256: string; size?: number | undefined },
  ): Promise<void> {
    // Without a size (a file only SHA256SUMS names) the cap bounds what a hostile server can send.
    const max = want.size ?? 16 * 1024 ** 3;
    const url = new URL(rel, this.base);
    const part = `${dest}.part`;
    const have = await stat(part).then(
      (s) => s.size,
      () => 0,
    );
    const hash = createHash('sha256');
    let offset = 0;
    if (have > 0 && have < max) {
      for await (const c of createReadStream(part)) hash.update(c as Buffer);
      offset = have;
    }
    const { stream, status } = await this.open(what, url, offset > 0 ? { range: `bytes=${offset}-` } : {});
    let h = hash;
    if (status === 200 && offset > 0) {
      // The server ignored the Range: start over.
      offset = 0;
      h = createHash('sha256');
    } else if (status === 404) {
      stream.destroy();
      throw new MirrorError(`${what}: ${url.href} is listed by the upstream but missing (HTTP 404)`);
    } else if (status !== 200 && status !== 206) {
      stream.destroy();
      throw new MirrorError(`${what}: ${url.href} answered HTTP ${status}`);
    }
    await pipeline(
      stream,
      this.counter(what, url, max - offset, h),
      createWriteStream(part, offset > 0 ? { flags: 'a' } : { flags: 'w' }),
    );
    const size = (await stat(part)).size;
    const sha = h.digest('hex');
    if ((want.size !== undefined && size !== want.size) || sha !== want.sha256) {
      await rm(part, { force: true });
      throw new MirrorError(
        want.size !== undefined && size !== want.size
          ? `${what}: ${url.href} has ${size} bytes, the upstream index says ${want.size}; refused`
          : `${what}: ${url.href} has sha256 ${sha}, the upstream index says ${want.sha256}; refused`,
      );
    }
    await rename(part, dest);
  }
}
