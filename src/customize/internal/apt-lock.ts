import { lstat, rmdir, utimes } from 'node:fs/promises';
import { resolveInRoot } from '../safe-path.js';
import { productArch } from '../../definition/index.js';
import { aptPreferences } from '../../plan/lock-pins.js';
import { existsInRoot, readFileInRoot, removeInRoot, writeFileInRoot } from '../file-ops.js';
import { log } from '../../util/events.js';
import type { InternalAction, InternalContext } from './types.js';

const DIR = '/etc/apt/preferences.d';
const PATH = `${DIR}/kiln-lock.pref`;

/** The directory's times, or null when it did not exist: putting them back keeps the image byte-identical. */
async function dirTimes(ctx: InternalContext): Promise<{ atime: Date; mtime: Date } | null> {
  try {
    const st = await lstat(await resolveInRoot(ctx.rootfs, DIR));
    return st.isDirectory() ? { atime: st.atime, mtime: st.mtime } : null;
  } catch {
    return null;
  }
}
const UNDO_KEY = 'apt-lock';

/** Puts back what the image had at PATH (nothing, or its own file). */
async function restore(
  ctx: InternalContext,
  ours: string,
  before: string | undefined,
  times: { atime: Date; mtime: Date } | null,
): Promise<void> {
  const now = await readFileInRoot(ctx.rootfs, PATH).catch(() => undefined);
  if (now !== ours) {
    if (now !== undefined) log(ctx.sink, 'warn', `${PATH} was changed during the build: kept`, ctx.step);
    return;
  }
  if (before === undefined) await removeInRoot(ctx.rootfs, PATH);
  else await writeFileInRoot(ctx.rootfs, PATH, before, { mode: 0o644 });
  const dir = await resolveInRoot(ctx.rootfs, DIR);
  if (times === null) await rmdir(dir).catch(() => undefined);
  else await utimes(dir, times.atime, times.mtime);
}

/**
 * `--lock`: apt_preferences pinning every locked package, so what apt pulls
 * in by itself is the locked version too. The image never keeps it.
 */
export const aptLockPin: InternalAction = {
  what: 'apt-lock:pin',
  async run(ctx) {
    const lock = ctx.plan.lock;
    if (!lock) return;
    const times = await dirTimes(ctx);
    const before = (await existsInRoot(ctx.rootfs, PATH)) ? await readFileInRoot(ctx.rootfs, PATH) : undefined;
    const content = aptPreferences(lock, productArch(ctx.plan.definition));
    await writeFileInRoot(ctx.rootfs, PATH, content, { mode: 0o644 });
    ctx.undo.set(UNDO_KEY, () => restore(ctx, content, before, times));
    log(ctx.sink, 'info', `apt pinned to ${lock.packages.length} locked versions from ${lock.file}`, ctx.step);
  },
};

export const aptLockUnpin: InternalAction = {
  what: 'apt-lock:unpin',
  async run(ctx) {
    const undo = ctx.undo.get(UNDO_KEY);
    if (!undo) return;
    ctx.undo.delete(UNDO_KEY);
    await undo();
  },
};
