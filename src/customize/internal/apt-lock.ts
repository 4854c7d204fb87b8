import { productArch } from '../../definition/index.js';
import { aptPreferences } from '../../plan/lock-pins.js';
import { existsInRoot, readFileInRoot, removeInRoot, writeFileInRoot } from '../file-ops.js';
import { log } from '../../util/events.js';
import type { InternalAction, InternalContext } from './types.js';

const PATH = '/etc/apt/preferences.d/kiln-lock.pref';
const UNDO_KEY = 'apt-lock';

/** Puts back what the image had at PATH (nothing, or its own file). */
async function restore(ctx: InternalContext, ours: string, before: string | undefined): Promise<void> {
  const now = await readFileInRoot(ctx.rootfs, PATH).catch(() => undefined);
  if (now !== ours) {
    if (now !== undefined) log(ctx.sink, 'warn', `${PATH} was changed during the build: kept`, ctx.step);
    return;
  }
  if (before === undefined) await removeInRoot(ctx.rootfs, PATH);
  else await writeFileInRoot(ctx.rootfs, PATH, before, { mode: 0o644 });
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
    const before = (await existsInRoot(ctx.rootfs, PATH)) ? await readFileInRoot(ctx.rootfs, PATH) : undefined;
    const content = aptPreferences(lock, productArch(ctx.plan.definition));
    await writeFileInRoot(ctx.rootfs, PATH, content, { mode: 0o644 });
    ctx.undo.set(UNDO_KEY, () => restore(ctx, content, before));
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
