import { spawn } from 'node:child_process';
import { SourceError } from '../errors.js';
import { watchChild } from './child-exit.js';

/**
 * Runs `cmd` and hands its stdout to `consume` chunk by chunk. When
 * `consume` throws, the process is killed and the error wins; a process that
 * fails on its own is reported with its stderr.
 */
export async function consumeProcess(
  cmd: string,
  args: string[],
  consume: (chunk: Buffer) => void,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const watched = watchChild(child, cmd, what);
  const onAbort = (): void => void child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of child.stdout) {
      if (signal?.aborted) throw new SourceError(`${what}: aborted`);
      consume(chunk as Buffer);
    }
  } catch (e) {
    child.kill('SIGKILL');
    await watched.gone;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  await watched.succeeded();
}
