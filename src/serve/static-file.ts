import { closeSync, createReadStream, readSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

export function etagOf(st: Stats): string {
  return `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** RFC 9110 If-None-Match / If-Modified-Since: true when the client's copy is current. */
function notModified(req: IncomingMessage, etag: string, st: Stats): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return etagMatches(inm, etag);
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const t = Date.parse(ims);
    if (!Number.isNaN(t)) return Math.floor(st.mtimeMs / 1000) * 1000 <= t;
  }
  return false;
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * One `bytes=` range. Several ranges, or a syntax we do not understand, are
 * ignored and the whole file is sent (which RFC 9110 allows).
 */
export function parseRange(header: string | undefined, size: number): Range {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function rangeApplies(req: IncomingMessage, etag: string, st: Stats): boolean {
  const h = req.headers['if-range'];
  if (h === undefined) return true;
  const ifRange = Array.isArray(h) ? (h[0] ?? '') : h;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === etag;
  const t = Date.parse(ifRange);
  return !Number.isNaN(t) && Math.floor(st.mtimeMs / 1000) * 1000 === t;
}

/** Where the bytes come from: a small file already read, or an open descriptor to stream. */
export type FileSource = { buffer: Buffer } | { fd: number };

/** Reads a small file whole: a page-cache read of a few KiB is cheaper blocking than through the thread pool. */
export function readSmall(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const n = readSync(fd, buf, done, size - done, done);
    if (n === 0) break;
    done += n;
  }
  return done === size ? buf : buf.subarray(0, done);
}

/**
 * Sends a file with validators, conditional requests and single byte
 * ranges. Bodies from a descriptor are streamed, never held in memory; the
 * descriptor is always closed.
 */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  source: FileSource,
  st: Stats,
  headers: { contentType: string; cacheControl: string },
): Promise<void> {
  let handed = false;
  try {
    const etag = etagOf(st);
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', st.mtime.toUTCString());
    res.setHeader('Cache-Control', headers.cacheControl);
    res.setHeader('Accept-Ranges', 'bytes');
    if (notModified(req, etag, st)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', headers.contentType);
    let start = 0;
    let end = st.size - 1;
    const range = rangeApplies(req, etag, st) ? parseRange(req.headers.range, st.size) : undefined;
    if (range === 'unsatisfiable') {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${st.size}`);
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('range not satisfiable\n');
      return;
    }
    if (range) {
      start = range.start;
      end = range.end;
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${st.size}`);
    }
    const length = Math.max(0, end - start + 1);
    res.setHeader('Content-Length', length);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    if ('buffer' in source) {
      res.end(start === 0 && end === source.buffer.length - 1 ? source.buffer : source.buffer.subarray(start, end + 1));
      return;
    }
    handed = true;
    const stream = createReadStream('', { fd: source.fd, start, end, highWaterMark: 1 << 20, autoClose: true });
    await pipeline(stream, res).catch(() => {
      // The client went away or the file vanished mid-read; the connection
      // is closed, there is nobody left to tell.
      if (!stream.destroyed) stream.destroy();
    });
  } finally {
    if (!handed && 'fd' in source) closeSync(source.fd);
  }
}
