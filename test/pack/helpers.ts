import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';

/**
 * `path type mode uid gid target major:minor` for every inode under `dir`,
 * sorted: what must be equal between a root and its packed copy.
 */
export function treeListing(dir: string): string[] {
  const out = execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P|%y|%m|%U|%G|%l\\n'], { encoding: 'utf8' });
  const lines = out.trim().split('\n').sort();
  const devs = execFileSync('find', [dir, '(', '-type', 'c', '-o', '-type', 'b', ')', '-printf', '%P\\n'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .filter(Boolean);
  for (const d of devs) {
    const mm = execFileSync('stat', ['-c', '%t:%T', `${dir}/${d}`], { encoding: 'utf8' }).trim();
    lines.push(`${d}|dev|${mm}`);
  }
  return lines;
}

/** Mounts a squashfs read-only on a loop device, runs `f`, and always unmounts and frees the loop device. */
export async function withSquashfsMount<T>(image: string, mnt: string, f: (mnt: string) => Promise<T> | T): Promise<T> {
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'squashfs', '-o', 'loop,ro', image, mnt]);
  try {
    return await f(mnt);
  } finally {
    execFileSync('umount', [mnt]);
    // mount -o loop sets autoclear; detach explicitly if an old util-linux did not.
    const loops = execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).trim();
    for (const line of loops.split('\n').filter(Boolean)) execFileSync('losetup', ['-d', line.split(':')[0] as string]);
    rmSync(mnt, { recursive: true, force: true });
  }
}

/** Verbose listing of a tarball (GNU tar), one line per member, full times, numeric owners. */
export function tarVerbose(file: string): string[] {
  return execFileSync('tar', ['--numeric-owner', '--full-time', '--xattrs', '--xattrs-include=*', '-tvvf', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .trim()
    .split('\n');
}
