import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding an exclusive lock file, so two builds sharing a cache
 * never download into the same place at once. A lock left by a process that
 * died is taken over.
 */
export async function withLock<T>(
  file: string,
  fn: () => Promise<T>,
  opts: { onWait?: () => void; timeoutMs?: number; signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 2 * 60 * 60 * 1000);
  let waited = false;
  for (;;) {
    try {
      const fh = await open(file, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      await unlink(file).catch(() => undefined);
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.();
    }
    if (Date.now() > deadline) throw new SourceError(`timed out waiting for the lock ${file} (held by pid ${pid})`);
    await sleep(100 + Math.random() * 200, undefined, { signal: opts.signal });
  }
  try {
    return await fn();
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
