import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa, type ResultPromise } from 'execa';
import { KilnError } from '../util/errors.js';
import { leashed } from '../util/leash.js';
import { compressorCommand } from './compressors.js';
import type { TarCompression } from './types.js';

/** A file being written from a byte stream: write to `input`, then await `finished`. */
export interface ArchiveOutput {
  path: string;
  input: Writable;
  finished: Promise<{ size: number; sha256: string }>;
}

function toolFailure(tool: string, path: string, e: unknown): KilnError {
  const err = e as { stderr?: string; shortMessage?: string; message?: string; code?: string; exitCode?: number };
  if (err.code === 'ENOENT' || (err.exitCode === 127 && (err.stderr ?? '').includes('kiln-leash: cannot execute')))
    return new KilnError(`${tool} is not installed: kiln needs it to write ${path}`, { cause: e });
  const stderr = (err.stderr ?? '').trim().split('\n').slice(-5);
  return new KilnError(`${tool} failed writing ${path}: ${err.shortMessage ?? err.message ?? String(e)}`, {
    details: stderr,
    cause: e,
  });
}

/**
 * The compressed file `path`, hashed while it is written (its own sha256 plus
 * any `extraHashes`, e.g. a combined fingerprint already fed with the
 * metadata tarball), so no artifact is read back just to hash it.
 */
export function compressedFileOutput(
  path: string,
  compression: TarCompression,
  opts: { extraHashes?: Hash[]; signal?: AbortSignal | undefined } = {},
): ArchiveOutput {
  const { command } = compressorCommand(compression);
  const hash = createHash('sha256');
  const extra = opts.extraHashes ?? [];
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      for (const h of extra) h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const file = createWriteStream(path, { flags: 'wx' });
  const done = () => ({ size, sha256: hash.digest('hex') });
  if (command === null) {
    return { path, input: hasher, finished: pipeline(hasher, file).then(done) };
  }
  const [cmd, args] = command;
  const proc: ResultPromise = execa(...leashed(cmd, args), {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  // A dying compressor shows up as the process's failure, not as EPIPE.
  proc.stdin?.on('error', () => {});
  const finished = Promise.all([proc, pipeline(proc.stdout as NodeJS.ReadableStream, hasher, file)]).then(done, (e) => {
    throw toolFailure(cmd, path, e);
  });
  return { path, input: proc.stdin as Writable, finished };
}

export interface SquashfsOptions {
  compression: string;
  /** Every timestamp the tar does not carry (root, superblock). */
  mtime: number;
  threads: number;
  signal?: AbortSignal | undefined;
}

/**
 * `tar2sqfs` reading the rootfs tar stream. 1 MiB blocks and no NFS export
 * table, as distrobuilder's mksquashfs call; `--defaults mtime` fixes the
 * superblock time, the rest comes from the (clamped) tar headers. Its output
 * does not depend on the job count.
 */
export function squashfsOutput(path: string, o: SquashfsOptions): { input: Writable; finished: Promise<void> } {
  const args = [
    '--quiet',
    '--no-skip',
    '--compressor',
    o.compression,
    '--block-size',
    '1048576',
    '--num-jobs',
    String(o.threads),
    '--defaults',
    `uid=0,gid=0,mode=0755,mtime=${o.mtime}`,
    path,
  ];
  const proc = execa(...leashed('tar2sqfs', args), {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    ...(o.signal ? { cancelSignal: o.signal } : {}),
  });
  proc.stdin?.on('error', () => {});
  const finished = proc.then(
    () => undefined,
    (e) => {
      throw toolFailure('tar2sqfs', path, e);
    },
  );
  return { input: proc.stdin, finished };
}
