import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { SourceError } from '../errors.js';

export interface WatchedChild {
  /** Resolves once the child is gone, however it ended (after killing it on an error of our own). */
  gone: Promise<void>;
  /** Resolves once the child exited 0; otherwise a SourceError naming the command and its last stderr lines. */
  succeeded(): Promise<void>;
}

/**
 * Keeps what a child whose output kiln consumes says on stderr (about the
 * first 4 KiB, so a chatty child cannot fill memory) and judges its exit once
 * the output is consumed.
 */
export function watchChild(child: ChildProcess & { stderr: Readable }, cmd: string, what: string): WatchedChild {
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  return {
    gone: exited.then(() => undefined),
    async succeeded() {
      const { code, error } = await exited;
      if (error) throw new SourceError(`${what}: cannot run ${cmd}: ${error.message}`, { cause: error });
      if (code !== 0) {
        const last = stderr.trim().split('\n').slice(-2).join('; ');
        throw new SourceError(`${what}: ${cmd} failed (exit ${code})${last ? `: ${last}` : ''}`);
      }
    },
  };
}
