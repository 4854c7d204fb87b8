import { readFile } from 'node:fs/promises';
import { lstat } from 'node:fs/promises';
import type { InternalAction } from './types.js';
import { writeFileInRoot } from '../file-ops.js';
import { resolveInRoot } from '../safe-path.js';

/** kiln's own generator script, shipped in data/ (see the file's header). */
export const LXC_SYSTEMD_GENERATOR_FILE = new URL('../../../data/lxc-systemd-generator', import.meta.url);
export const LXC_SYSTEMD_GENERATOR_PATH = '/etc/systemd/system-generators/lxc';

/**
 * Every image with /etc/systemd gets the generator that makes systemd boot
 * inside LXC and Incus containers (definitions-spec section 3). It does
 * nothing outside a container.
 */
export const lxcSystemdGenerator: InternalAction = {
  what: 'lxc-systemd-generator',
  async run(ctx) {
    try {
      if (!(await lstat(await resolveInRoot(ctx.rootfs, '/etc/systemd'))).isDirectory()) return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const script = await readFile(LXC_SYSTEMD_GENERATOR_FILE);
    await writeFileInRoot(ctx.rootfs, LXC_SYSTEMD_GENERATOR_PATH, script, { mode: 0o755 });
  },
};
