import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { SourceError } from './errors.js';
import { pathExists } from '../util/fs.js';

/** Directories every busybox root gets, with the modes init and login expect. */
const BASE_DIRS: Array<[string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['dev', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['tmp', 0o1777],
  ['root', 0o700],
  ['run', 0o755],
  ['etc', 0o755],
  ['var', 0o755],
  ['var/log', 0o755],
  ['mnt', 0o755],
  ['home', 0o755],
];

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n';
const GROUP = 'root:x:0:\n';

/**
 * Turns an empty directory into a bootable busybox root: the binary at
 * /bin/busybox, one relative symlink per applet (so the root works wherever
 * it is mounted, and /sbin/init starts busybox init), the base directories
 * and a root account. Returns the number of applet links.
 */
export async function populateBusyboxRoot(
  rootfs: string,
  binary: string,
  runner?: string,
): Promise<{ applets: number }> {
  for (const [dir, mode] of BASE_DIRS) {
    const full = path.join(rootfs, dir);
    await mkdir(full, { recursive: true });
    // mkdir honours the umask; chmod sets the sticky and private bits exactly.
    await chmod(full, mode);
  }
  const target = path.join(rootfs, 'bin/busybox');
  await copyFile(binary, target);
  await chmod(target, 0o755);

  let list: string;
  try {
    // A foreign busybox lists its applets through qemu-user (`runner`).
    list = (runner ? await execa(runner, [binary, '--list-full']) : await execa(binary, ['--list-full'])).stdout;
  } catch (e) {
    throw new SourceError(`busybox: ${binary} --list-full failed: ${(e as Error).message.split('\n')[0]}`, {
      cause: e,
    });
  }
  let applets = 0;
  for (const raw of list.split('\n')) {
    const rel = raw.trim().replace(/^\/+/, '');
    if (rel === '' || rel === 'bin/busybox') continue;
    if (rel.split('/').includes('..')) {
      throw new SourceError(`busybox: applet path "${rel}" from --list-full is not inside the root`);
    }
    const link = path.join(rootfs, rel);
    await mkdir(path.dirname(link), { recursive: true });
    const to = path.relative(path.dirname(path.join('/', rel)), '/bin/busybox');
    if (await pathExists(link)) continue;
    await symlink(to, link);
    applets++;
  }
  await writeFile(path.join(rootfs, 'etc/passwd'), PASSWD, { mode: 0o644 });
  await writeFile(path.join(rootfs, 'etc/group'), GROUP, { mode: 0o644 });
  return { applets };
}

/** The version line busybox prints, e.g. `1.35.0`, or undefined. */
export async function busyboxVersion(binary: string, runner?: string): Promise<string | undefined> {
  const r = runner ? await execa(runner, [binary], { reject: false }) : await execa(binary, [], { reject: false });
  const m = /BusyBox v(\S+)/.exec(`${r.stdout}\n${r.stderr}`);
  return m?.[1];
}
