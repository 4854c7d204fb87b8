import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { log, type EventSink } from '../../util/events.js';
import { SourceError } from '../errors.js';
import { DECOMPRESSORS, detectFormat, readHead, type ArchiveFormat } from './detect.js';
import { consumeProcess } from './process-stream.js';
import { consumeViaFifo } from './fifo-stream.js';
import { RootWriter, type RootWriterOptions } from './root-writer.js';
import { TarParser } from './tar-parser.js';
import { unpackZip } from './zip.js';

export { DEFAULT_LIMITS, RATIO_FREE, type UnpackLimits } from './root-writer.js';
export { detectFormat, type ArchiveFormat } from './detect.js';

export interface UnpackOptions extends Omit<RootWriterOptions, 'onProgress'> {
  sink?: EventSink | undefined;
  /** Name shown in progress events. */
  task?: string;
  signal?: AbortSignal | undefined;
}

export interface UnpackResult {
  format: ArchiveFormat;
  entries: number;
  bytes: number;
  /** Device nodes left out of the root, by entry name. */
  droppedDevices: string[];
}

/**
 * Unpacks a tar (plain, gzip, xz, zstd, bzip2), zip or squashfs file into
 * `root`, keeping owners, modes, times, links, device nodes and xattrs, and
 * refusing anything that would land outside `root` (see RootWriter).
 */
export async function unpackArchive(file: string, root: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const format = detectFormat(await readHead(file));
  if (!format) {
    throw new SourceError(`${file}: not a recognized archive (tar, tar.gz, tar.xz, tar.zst, tar.bz2, zip or squashfs)`);
  }
  const task = opts.task ?? 'unpack';
  const writer = new RootWriter(root, {
    ...opts,
    archiveBytes: statSync(file).size,
    onProgress: opts.sink
      ? (entries) => opts.sink!.emit({ type: 'progress', task, done: entries, unit: 'entries' })
      : undefined,
  });
  try {
    if (format === 'zip') {
      await unpackZip(file, writer);
    } else {
      const parser = new TarParser(writer);
      const push = (chunk: Buffer): void => parser.push(chunk);
      if (format === 'tar') {
        readAllSync(file, push, opts.signal);
      } else if (format === 'squashfs') {
        // `-r .` keeps the root inode's owner and mode as a "./" entry.
        await consumeProcess('sqfs2tar', ['-r', '.', file], push, `${file}`, opts.signal);
      } else {
        const d = DECOMPRESSORS[format];
        await consumeViaFifo(d.cmd, [...d.args, file], push, `${file}`, opts.signal);
      }
      parser.finish();
    }
    writer.finish();
  } catch (e) {
    writer.abort();
    throw e;
  }
  const dropped = writer.droppedDevices;
  if (dropped.length > 0 && opts.sink) {
    const shown = dropped.slice(0, 5).join(', ') + (dropped.length > 5 ? ` and ${dropped.length - 5} more` : '');
    log(
      opts.sink,
      'warn',
      `${file}: left out ${dropped.length} device node(s) of the archive (${shown}); the container gets its own /dev (source.unpack.devices: true keeps them)`,
    );
  }
  return { format, entries: writer.entries, bytes: writer.bytes, droppedDevices: dropped };
}

/**
 * Feeds a plain tar to the parser with synchronous reads into one reused
 * buffer: the parser consumes every chunk before the next read (it copies
 * what it keeps), and this avoids a buffer allocation and an event-loop
 * round trip per chunk, which is most of the gap to GNU tar.
 */
function readAllSync(file: string, push: (chunk: Buffer) => void, signal?: AbortSignal): void {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (;;) {
      if (signal?.aborted) throw new SourceError(`${file}: aborted`);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      push(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}
