import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { SourceError } from '../errors.js';
import { watchChild } from './child-exit.js';

/**
 * Runs `cmd args...` with its stdout on a FIFO and reads it with blocking
 * reads into one reused 4 MiB buffer. A pipe read through the event loop
 * delivers 64 KiB at a time, each in a fresh buffer; this path is what keeps
 * unpacking a compressed tarball close to GNU tar. `consume` must not keep
 * the chunk it is given. The decompressor only reads a local file, so the
 * blocking reads cannot stall on the network.
 */
export async function consumeViaFifo(
  cmd: string,
  args: string[],
  consume: (chunk: Buffer) => void,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-unpack-'));
  const fifo = path.join(dir, 'out');
  try {
    execFileSync('mkfifo', ['-m', '0600', fifo]);
    // The shell opens the FIFO before anything can fail, so our open never waits forever.
    const child = spawn('sh', ['-c', 'exec >"$0"; exec "$@"', fifo, cmd, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const watched = watchChild(child, cmd, what);
    const fd = openSync(fifo, 'r');
    const buf = Buffer.allocUnsafe(4 << 20);
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        if (signal?.aborted) throw new SourceError(`${what}: aborted`);
        consume(buf.subarray(0, n));
      }
    } catch (e) {
      child.kill('SIGKILL');
      await watched.gone;
      throw e;
    } finally {
      closeSync(fd);
    }
    await watched.succeeded();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
