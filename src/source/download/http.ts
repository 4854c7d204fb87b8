import { createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import got, { type Headers, type Response } from 'got';
import type { EventSink } from '../../util/events.js';
import { SourceError } from '../errors.js';
import { connectionFor } from './proxy.js';

export interface HttpOptions {
  headers?: Record<string, string>;
  sink?: EventSink | undefined;
  /** Progress event task name; default `download <file name>`. */
  task?: string;
  signal?: AbortSignal | undefined;
  /** Attempts after the first one (default 4), with exponential backoff. */
  retries?: number;
  /** First backoff delay in ms (doubles every retry; default 500). */
  backoffMs?: number;
  /** Seconds without a byte before a stalled transfer is retried (default 60). */
  idleTimeout?: number;
}

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export type DownloadOutcome =
  { status: 'downloaded'; size: number; validators: Validators } | { status: 'not-modified'; validators: Validators };

const client = got.extend({
  retry: { limit: 0 },
  throwHttpErrors: false,
  // Servers label .tar.gz as gzip-encoded; the bytes on disk must be the file's.
  decompress: false,
  followRedirect: true,
  headers: { 'user-agent': 'kiln', 'accept-encoding': 'identity', accept: '*/*' },
});

/** An HTTP status that a retry may fix. */
function transient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function validatorsOf(h: Headers): Validators {
  const v: Validators = {};
  const etag = h.etag;
  const lm = h['last-modified'];
  if (typeof etag === 'string') v.etag = etag;
  if (typeof lm === 'string') v.lastModified = lm;
  return v;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/**
 * Downloads `url` into `dest`, resuming a partial `dest` with a Range request
 * when `resumeFrom` validators say it is the same file, retrying network
 * errors and 5xx with backoff. With `conditional` validators, a 304 leaves
 * `dest` alone and reports `not-modified`.
 */
export async function downloadFile(
  url: string,
  dest: string,
  opts: HttpOptions & {
    conditional?: Validators | undefined;
    resumeFrom?: Validators | undefined;
    onValidators?: (v: Validators) => Promise<void> | void;
  } = {},
): Promise<DownloadOutcome> {
  const retries = opts.retries ?? 4;
  const backoff = opts.backoffMs ?? 500;
  const target = new URL(url);
  const task = opts.task ?? `download ${decodeURIComponent(target.pathname.split('/').pop() || target.host)}`;
  let resume = opts.resumeFrom;
  let lastError = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      opts.sink?.emit({
        type: 'log',
        level: 'warn',
        message: `${url}: ${lastError}; retrying (${attempt}/${retries})`,
      });
      await sleep(backoff * 2 ** (attempt - 1), undefined, { signal: opts.signal });
    }
    const have = resume && (resume.etag || resume.lastModified) ? await sizeOf(dest) : 0;
    const headers: Record<string, string> = { ...opts.headers };
    if (have > 0 && resume) {
      headers.range = `bytes=${have}-`;
      // If-Range makes the server send the whole new file when it changed meanwhile.
      headers['if-range'] = resume.etag ?? resume.lastModified!;
    } else if (opts.conditional) {
      if (opts.conditional.etag) headers['if-none-match'] = opts.conditional.etag;
      if (opts.conditional.lastModified) headers['if-modified-since'] = opts.conditional.lastModified;
    }
    const stream = client.stream(url, {
      headers,
      ...connectionFor(target, opts.signal),
      timeout: {
        lookup: 30_000,
        connect: 30_000,
        secureConnect: 30_000,
        response: 60_000,
        socket: (opts.idleTimeout ?? 60) * 1000,
      },
    });
    let response: Response;
    try {
      response = await new Promise<Response>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
    } catch (e) {
      stream.destroy();
      if (opts.signal?.aborted) throw new SourceError(`${url}: download aborted`);
      lastError = describe(e);
      continue;
    }
    const status = response.statusCode;
    if (status === 304 && opts.conditional && have === 0) {
      stream.destroy();
      return { status: 'not-modified', validators: { ...opts.conditional, ...validatorsOf(response.headers) } };
    }
    if (status !== 200 && status !== 206) {
      stream.destroy();
      if (transient(status)) {
        lastError = `HTTP ${status}`;
        continue;
      }
      throw new SourceError(`${url}: HTTP ${status}${status === 404 ? ' (not found)' : ''}`);
    }
    const validators = validatorsOf(response.headers);
    let append = false;
    if (status === 206) {
      const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(response.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== have) {
        stream.destroy();
        await truncate(dest, 0).catch(() => undefined);
        resume = undefined;
        lastError = `bad Content-Range "${String(response.headers['content-range'])}"`;
        continue;
      }
      append = true;
    }
    await opts.onValidators?.(validators);
    resume = validators.etag || validators.lastModified ? validators : undefined;
    const length = Number(response.headers['content-length'] ?? NaN);
    const total = Number.isFinite(length) ? length + (append ? have : 0) : undefined;
    let last = 0;
    stream.on('downloadProgress', (p: { transferred: number }) => {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      opts.sink?.emit({
        type: 'progress',
        task,
        done: (append ? have : 0) + p.transferred,
        ...(total !== undefined && { total }),
        unit: 'bytes',
      });
    });
    try {
      await pipeline(stream, createWriteStream(dest, { flags: append ? 'a' : 'w', highWaterMark: 1 << 20 }));
    } catch (e) {
      if (opts.signal?.aborted) throw new SourceError(`${url}: download aborted`);
      lastError = `connection lost after ${await sizeOf(dest)} bytes (${describe(e)})`;
      if (!resume) await truncate(dest, 0).catch(() => undefined);
      continue;
    }
    const size = await sizeOf(dest);
    if (total !== undefined && size !== total) {
      lastError = `got ${size} of ${total} bytes`;
      continue;
    }
    opts.sink?.emit({ type: 'progress', task, done: size, total: size, unit: 'bytes' });
    return { status: 'downloaded', size, validators };
  }
  throw new SourceError(`${url}: download failed after ${retries + 1} attempts: ${lastError}`);
}

/**
 * A small document (sums file, signature, manifest) into memory, or
 * undefined on 404/410 so callers can probe for optional files.
 */
export async function fetchSmall(
  url: string,
  opts: HttpOptions & { maxBytes?: number; accept?: string; probe?: boolean } = {},
): Promise<{ body: Buffer; headers: Headers; url: string } | undefined> {
  const retries = opts.retries ?? 4;
  const target = new URL(url);
  let lastError = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep((opts.backoffMs ?? 500) * 2 ** (attempt - 1), undefined, { signal: opts.signal });
    let res: Response<Buffer>;
    try {
      res = await client(url, {
        headers: { ...opts.headers, ...(opts.accept ? { accept: opts.accept } : {}) },
        ...connectionFor(target, opts.signal),
        responseType: 'buffer',
        timeout: { lookup: 30_000, connect: 30_000, response: 60_000, socket: (opts.idleTimeout ?? 60) * 1000 },
      });
    } catch (e) {
      if (opts.signal?.aborted) throw new SourceError(`${url}: download aborted`);
      lastError = describe(e);
      continue;
    }
    if (res.statusCode === 404 || res.statusCode === 410) return undefined;
    // Object stores answer 403 for a missing key when listing is not allowed.
    if (opts.probe && res.statusCode === 403) return undefined;
    if (transient(res.statusCode)) {
      lastError = `HTTP ${res.statusCode}`;
      continue;
    }
    if (res.statusCode !== 200) throw new SourceError(`${url}: HTTP ${res.statusCode}`);
    const max = opts.maxBytes ?? 16 << 20;
    if (res.body.length > max)
      throw new SourceError(`${url}: ${res.body.length} bytes is more than the ${max} expected for this file`);
    return { body: res.body, headers: res.headers, url: res.url };
  }
  throw new SourceError(`${url}: download failed after ${retries + 1} attempts: ${lastError}`);
}

function describe(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return err.code ? `${err.code}: ${err.message ?? ''}`.trim() : (err.message ?? String(e));
}
