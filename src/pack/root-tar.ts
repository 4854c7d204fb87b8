import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { KilnError } from '../util/errors.js';
import type { EventSink } from '../util/events.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarEntry } from './tar-header.js';
import type { RootEntry } from './walk.js';
import type { XattrMap } from './xattrs.js';

/**
 * One tar encoding of the root: member names get `prefix` (`./` for the
 * rootfs tarball and the squashfs, `rootfs/` for the unified tarball), and
 * the same bytes go to every output. `before`/`after` are ready tar members
 * placed around the root (metadata.yaml, templates/ of the unified image).
 */
export interface TarTarget {
  prefix: string;
  outputs: Writable[];
  before?: Buffer;
  after?: Buffer;
  /** Root paths this target leaves out (the LXC-only difference). */
  skip?: ReadonlySet<string>;
}

const FLUSH_BYTES = 1024 * 1024;
const SMALL_FILE = 1024 * 1024;
const READ_CHUNK = 4 * 1024 * 1024;
const AHEAD_BYTES = 32 * 1024 * 1024;
const AHEAD_FILES = 64;
const PROGRESS_EVERY = 64 * 1024 * 1024;

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('output closed before the archive was complete'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

async function writeAll(outputs: Writable[], buf: Buffer): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const o of outputs) {
    if (o.destroyed || o.writableEnded) throw new Error('output closed before the archive was complete');
    if (!o.write(buf)) waits.push(drained(o));
  }
  await Promise.all(waits);
}

/** Gathers small pieces (headers, small files) into ~1 MiB writes. */
class Batch {
  private parts: Buffer[] = [];
  private bytes = 0;
  constructor(readonly target: TarTarget) {}
  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.bytes += b.length;
  }
  get full(): boolean {
    return this.bytes >= FLUSH_BYTES;
  }
  async flush(): Promise<void> {
    if (this.bytes === 0) return;
    const buf = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    await writeAll(this.target.outputs, buf);
  }
}

function changed(path: string, expected: number, got: number): KilnError {
  return new KilnError(
    `/${path} changed while packing (size ${expected} became ${got}): nothing may run in the root during packing`,
  );
}

async function readSmall(abs: string, e: RootEntry): Promise<Buffer> {
  const buf = await readFile(abs);
  if (buf.length !== e.size) throw changed(e.path, e.size, buf.length);
  return buf;
}

function toTarEntry(e: RootEntry, prefix: string, xattrs: XattrMap): TarEntry {
  const t: TarEntry = {
    name: e.path === '' ? prefix : prefix + e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' ? e.size : 0,
    mtime: e.mtime,
  };
  if (e.type === 'link') t.linkname = prefix + (e.linkname as string);
  else if (e.linkname !== undefined) t.linkname = e.linkname;
  if (e.devmajor !== undefined) t.devmajor = e.devmajor;
  if (e.devminor !== undefined) t.devminor = e.devminor;
  const x = e.type === 'link' ? undefined : xattrs.get(e.path);
  if (x) t.xattrs = x;
  return t;
}

/**
 * Reads the root once, in `entries` order, and writes every target's tar
 * stream. Small files are read ahead in parallel (the thread pool overlaps
 * the I/O) while earlier ones are being written; large ones are streamed in
 * chunks shared by all outputs. Outputs are ended at the end.
 */
export async function writeRootTar(
  root: string,
  entries: RootEntry[],
  xattrs: XattrMap,
  targets: TarTarget[],
  opts: { sink: EventSink; task: string; signal?: AbortSignal | undefined },
): Promise<void> {
  const batches = targets.map((t) => new Batch(t));
  const total = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  let done = 0;
  let nextReport = PROGRESS_EVERY;

  const ahead = new Map<number, Promise<Buffer>>();
  let aheadBytes = 0;
  let scheduled = 0;
  const schedule = (from: number) => {
    if (scheduled < from) scheduled = from;
    while (scheduled < entries.length && ahead.size < AHEAD_FILES && aheadBytes < AHEAD_BYTES) {
      const e = entries[scheduled] as RootEntry;
      if (e.type === 'file' && e.size > 0 && e.size <= SMALL_FILE) {
        const p = readSmall(join(root, e.path), e);
        p.catch(() => {});
        ahead.set(scheduled, p);
        aheadBytes += e.size;
      }
      scheduled++;
    }
  };

  opts.sink.emit({ type: 'progress', task: opts.task, done: 0, total, unit: 'bytes' });
  for (const b of batches) if (b.target.before) b.push(b.target.before);

  for (let i = 0; i < entries.length; i++) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const e = entries[i] as RootEntry;
    schedule(i + 1);
    const taking = batches.filter((b) => !b.target.skip?.has(e.path));
    for (const b of taking) b.push(encodeHeader(toTarEntry(e, b.target.prefix, xattrs)));
    if (e.type === 'file' && e.size > 0) {
      const pre = ahead.get(i);
      if (pre !== undefined) {
        const data = await pre;
        ahead.delete(i);
        aheadBytes -= e.size;
        for (const b of taking) {
          b.push(data);
          b.push(padding(e.size));
        }
      } else {
        await Promise.all(batches.map((b) => b.flush()));
        await streamLargeFile(join(root, e.path), e, (chunk) =>
          Promise.all(taking.map((b) => writeAll(b.target.outputs, chunk))).then(() => undefined),
        );
        for (const b of taking) b.push(padding(e.size));
      }
      done += e.size;
      if (done >= nextReport) {
        opts.sink.emit({ type: 'progress', task: opts.task, done, total, unit: 'bytes' });
        nextReport = done + PROGRESS_EVERY;
      }
    }
    if (batches.some((b) => b.full)) await Promise.all(batches.map((b) => b.flush()));
  }

  for (const b of batches) {
    if (b.target.after) b.push(b.target.after);
    b.push(END_OF_ARCHIVE);
  }
  await Promise.all(batches.map((b) => b.flush()));
  for (const t of targets) for (const o of t.outputs) o.end();
  opts.sink.emit({ type: 'progress', task: opts.task, done, total, unit: 'bytes' });
}

async function streamLargeFile(abs: string, e: RootEntry, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  const fh = await open(abs, 'r');
  try {
    let pos = 0;
    while (pos < e.size) {
      const want = Math.min(READ_CHUNK, e.size - pos);
      const buf = Buffer.allocUnsafe(want);
      let filled = 0;
      while (filled < want) {
        const { bytesRead } = await fh.read(buf, filled, want - filled, pos + filled);
        if (bytesRead === 0) throw changed(e.path, e.size, pos + filled);
        filled += bytesRead;
      }
      pos += want;
      await write(buf);
    }
  } finally {
    await fh.close();
  }
}
