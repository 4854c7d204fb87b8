import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { SourceError } from '../errors.js';

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
  let stderr = '';
  try {
    execFileSync('mkfifo', ['-m', '0600', fifo]);
    // The shell opens the FIFO before anything can fail, so our open never waits forever.
    const child = spawn('sh', ['-c', 'exec >"$0"; exec "$@"', fifo, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, error }));
      child.on('close', (code) => resolve({ code }));
    });
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
      await exited;
      throw e;
    } finally {
      closeSync(fd);
    }
    const { code, error } = await exited;
    if (error) throw new SourceError(`${what}: cannot run ${cmd}: ${error.message}`, { cause: error });
    if (code !== 0) {
      const last = stderr.trim().split('\n').slice(-2).join('; ');
      throw new SourceError(`${what}: ${cmd} failed (exit ${code})${last ? `: ${last}` : ''}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
