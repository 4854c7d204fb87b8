import { spawn } from 'node:child_process';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../util/errors.js';
import { log, nullSink, type EventSink } from '../util/events.js';

export interface TreeLock {
  release(): Promise<void>;
}

/** Where kiln keeps its private state inside a tree (never served: a dot-dir). */
export function stateDir(tree: string): string {
  return join(tree, '.kiln');
}

/**
 * Takes the tree's exclusive lock. Node has no flock(2), so a `flock(1)`
 * child holds it: it locks `.kiln/lock`, says so on stdout, then waits for
 * its stdin to close. When this process exits, even by SIGKILL, the pipe
 * closes, the child exits and the kernel drops the lock: a killed publisher
 * can never leave a stale lock behind.
 */
export async function lockTree(tree: string, sink: EventSink = nullSink): Promise<TreeLock> {
  const file = join(stateDir(tree), 'lock');
  try {
    await mkdir(stateDir(tree), { recursive: true });
    await (await open(file, 'a', 0o644)).close();
  } catch (e) {
    throw new KilnError(
      `cannot create ${file}: ${(e as Error).message}; kiln keeps its lock and state in DIR/.kiln and needs write access to the tree`,
    );
  }
  const child = spawn('flock', ['--exclusive', file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const waitingNote = setTimeout(
    () => log(sink, 'info', `waiting for the lock on ${tree} (another kiln publisher is running)`),
    1000,
  );
  let onData: ((d: Buffer) => void) | undefined;
  let onClose: ((code: number | null) => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('locked\n')) resolve();
      };
      onClose = (code) => reject(new KilnError(`cannot lock ${file}: flock exited with ${code}: ${err.trim()}`));
      child.stdout.on('data', onData);
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', (e) => reject(new KilnError(`cannot lock ${file}: ${e.message}`, { cause: e })));
      child.once('close', onClose);
    });
  } catch (e) {
    child.kill();
    throw e;
  } finally {
    clearTimeout(waitingNote);
    if (onData) child.stdout.off('data', onData);
    if (onClose) child.off('close', onClose);
  }
  child.stdout.resume();
  child.stderr.resume();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      child.stdin.end();
      await exited;
    },
  };
}

/** For commands that work on an existing tree (index, prune): a clear error instead of creating one. */
export async function requireTree(tree: string): Promise<void> {
  const st = await stat(tree).catch(() => undefined);
  if (!st?.isDirectory()) throw new KilnError(`${tree}: not a directory; give an image tree (the --out of kiln build)`);
}

/** Runs `fn` holding the tree lock. */
export async function withTreeLock<T>(tree: string, sink: EventSink, fn: () => Promise<T>): Promise<T> {
  const lock = await lockTree(tree, sink);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
