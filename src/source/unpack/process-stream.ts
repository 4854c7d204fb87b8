import { spawn } from 'node:child_process';
import { SourceError } from '../errors.js';

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
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  const onAbort = (): void => void child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of child.stdout) {
      if (signal?.aborted) throw new SourceError(`${what}: aborted`);
      consume(chunk as Buffer);
    }
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const { code, error } = await exited;
  if (error) throw new SourceError(`${what}: cannot run ${cmd}: ${error.message}`, { cause: error });
  if (code !== 0) {
    const first = stderr.trim().split('\n').slice(-2).join('; ');
    throw new SourceError(`${what}: ${cmd} failed (exit ${code})${first ? `: ${first}` : ''}`);
  }
}
