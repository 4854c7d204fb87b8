import { lstat } from 'node:fs/promises';
import type { InternalAction, InternalContext } from './types.js';
import { existsInRoot, readFileInRoot, removeInRoot, writeFileInRoot } from '../file-ops.js';
import { resolveInRoot } from '../safe-path.js';
import { log } from '../../util/events.js';

const PATH = '/usr/sbin/policy-rc.d';
/** invoke-rc.d reads exit code 101 as "action forbidden": maintainer scripts start no service. */
export const POLICY_RC_D =
  '#!/bin/sh\n# Written by kiln for the duration of the build: services do not start.\nexit 101\n';
const UNDO_KEY = 'policy-rc.d';

async function isDirInRoot(rootfs: string, inner: string): Promise<boolean> {
  try {
    return (await lstat(await resolveInRoot(rootfs, inner))).isDirectory();
  } catch {
    return false;
  }
}

async function removeIfOurs(ctx: Pick<InternalContext, 'rootfs' | 'sink' | 'step'>): Promise<void> {
  const content = await readFileInRoot(ctx.rootfs, PATH).catch(() => undefined);
  if (content === POLICY_RC_D) {
    await removeInRoot(ctx.rootfs, PATH);
  } else if (content !== undefined) {
    log(ctx.sink, 'warn', `${PATH} was changed during the build: kept as the build left it`, ctx.step);
  }
}

/**
 * Debian-style images: while packages are installed, services must not
 * start (there is no init in the build container, and a daemon would keep
 * the root busy). Only written when the image has /usr/sbin and no policy of
 * its own, as distrobuilder does.
 */
export const policyRcdInstall: InternalAction = {
  what: 'policy-rc.d:install',
  async run(ctx) {
    if (!(await isDirInRoot(ctx.rootfs, '/usr/sbin'))) return;
    if (await existsInRoot(ctx.rootfs, PATH)) {
      log(ctx.sink, 'info', `${PATH} is part of the image: left alone`, ctx.step);
      return;
    }
    await writeFileInRoot(ctx.rootfs, PATH, POLICY_RC_D, { mode: 0o755 });
    ctx.undo.set(UNDO_KEY, () => removeIfOurs(ctx));
  },
};

export const policyRcdRemove: InternalAction = {
  what: 'policy-rc.d:remove',
  async run(ctx) {
    const undo = ctx.undo.get(UNDO_KEY);
    if (!undo) return;
    ctx.undo.delete(UNDO_KEY);
    await undo();
  },
};
