import { lstat, readFile, readlink, rm, symlink } from 'node:fs/promises';
import type { Generator } from './types.js';
import { mkdirInRoot, readFileInRoot, existsInRoot, writeFileInRoot } from '../file-ops.js';
import { resolveInRoot } from '../safe-path.js';
import { requireIncusVm } from './target.js';
import { KilnError } from '../../util/errors.js';

const DATA = new URL('../../../data/incus-agent/', import.meta.url);

async function data(name: string): Promise<string> {
  return readFile(new URL(name, DATA), 'utf8');
}

export type InitSystem = 'systemd' | 'openrc' | 'procd';

/** Which init the image boots with, judged from its files as distrobuilder does. */
export async function detectInit(rootfs: string): Promise<InitSystem | undefined> {
  try {
    const init = await resolveInRoot(rootfs, '/sbin/init', { followLast: false });
    if ((await lstat(init)).isSymbolicLink() && (await readlink(init)).includes('systemd')) return 'systemd';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (await existsInRoot(rootfs, '/etc/openwrt_version')) return 'procd';
  const inittab = await readFileInRoot(rootfs, '/etc/inittab').catch(() => undefined);
  if (inittab && /^[^#]*sysinit.*openrc/m.test(inittab)) return 'openrc';
  try {
    const init = await resolveInRoot(rootfs, '/sbin/init', { followLast: false });
    if ((await lstat(init)).isSymbolicLink() && (await readlink(init)).includes('busybox')) return 'openrc';
  } catch {
    /* no /sbin/init */
  }
  return undefined;
}

async function isDir(rootfs: string, inner: string): Promise<boolean> {
  try {
    return (await lstat(await resolveInRoot(rootfs, inner))).isDirectory();
  } catch {
    return false;
  }
}

async function linkInRoot(rootfs: string, inner: string, target: string): Promise<void> {
  await mkdirInRoot(rootfs, inner.replace(/\/[^/]+$/, ''));
  const p = await resolveInRoot(rootfs, inner, { followLast: false });
  await rm(p, { force: true });
  await symlink(target, p);
}

async function installSystemd(rootfs: string): Promise<void> {
  const lib = (await isDir(rootfs, '/usr/lib/systemd')) ? '/usr/lib' : '/lib';
  const setup = `${lib}/systemd/incus-agent-setup`;
  await writeFileInRoot(
    rootfs,
    `${lib}/systemd/system/incus-agent.service`,
    (await data('incus-agent.service')).replace('@SETUP@', setup),
    { mode: 0o644 },
  );
  await writeFileInRoot(rootfs, setup, await data('incus-agent-setup'), { mode: 0o755 });
  await writeFileInRoot(rootfs, `${lib}/udev/rules.d/99-incus-agent.rules`, await data('99-incus-agent.rules'), {
    mode: 0o644,
  });
}

async function installOpenrc(rootfs: string): Promise<void> {
  await writeFileInRoot(rootfs, '/etc/init.d/incus-agent', await data('openrc-incus-agent'), { mode: 0o755 });
  await writeFileInRoot(rootfs, '/etc/init.d/incus-agent-setup', await data('openrc-incus-agent-setup'), {
    mode: 0o755,
  });
  await writeFileInRoot(rootfs, '/usr/local/bin/incus-agent-setup', await data('incus-agent-setup'), { mode: 0o755 });
  await linkInRoot(rootfs, '/etc/runlevels/default/incus-agent', '/etc/init.d/incus-agent');
  await linkInRoot(rootfs, '/etc/runlevels/default/incus-agent-setup', '/etc/init.d/incus-agent-setup');
}

async function installProcd(rootfs: string): Promise<void> {
  await writeFileInRoot(rootfs, '/etc/init.d/incus-agent', await data('procd-incus-agent'), { mode: 0o755 });
  await writeFileInRoot(rootfs, '/usr/local/sbin/incus-agent-setup', await data('incus-agent-setup'), { mode: 0o755 });
  await writeFileInRoot(rootfs, '/usr/local/sbin/incus-agent-wrapper', await data('procd-incus-agent-wrapper'), {
    mode: 0o755,
  });
  await linkInRoot(rootfs, '/etc/rc.d/S05incus-agent', '../init.d/incus-agent');
  await linkInRoot(rootfs, '/etc/rc.d/K85incus-agent', '../init.d/incus-agent');
}

/** Incus VMs: the services that fetch and start the agent Incus hands the VM, for systemd, OpenRC or procd. */
export const incusAgent: Generator = {
  name: 'incus-agent',
  async run({ rootfs, step, plan }) {
    requireIncusVm(plan, step, 'incus-agent');
    const init = await detectInit(rootfs);
    if (init === 'systemd') return installSystemd(rootfs);
    if (init === 'openrc') return installOpenrc(rootfs);
    if (init === 'procd') return installProcd(rootfs);
    throw new KilnError(
      `${step}: generator 'incus-agent' found no systemd, OpenRC or procd init in the image (/sbin/init, /etc/inittab, /etc/openwrt_version)`,
    );
  },
};
