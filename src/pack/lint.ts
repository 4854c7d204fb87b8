import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RootEntry } from './walk.js';

/**
 * What a published root should not carry, checked on the entries the
 * archives are written from: things every container made from the image
 * would share (ssh host keys, a machine-id) or that only cost bytes
 * (package caches), and modes worth a look (world-writable without the
 * sticky bit), and special files outside /dev, where nothing makes them
 * (a device node there opens a host device in any container that reaches
 * it). Setuid/setgid files are listed, not judged: an image has some.
 */
export interface RootLint {
  warnings: string[];
  /** Setuid or setgid files, `/path mode`. */
  setuid: string[];
}

const CACHE_DIRS = [
  'var/cache/apt/archives/',
  'var/cache/dnf/',
  'var/cache/yum/',
  'var/cache/apk/',
  'var/cache/pacman/pkg/',
  'var/cache/zypp/packages/',
];
const MAX_LISTED = 10;

function listed(paths: string[]): string {
  const shown = paths
    .slice(0, MAX_LISTED)
    .map((p) => `/${p}`)
    .join(', ');
  return paths.length > MAX_LISTED ? `${shown} and ${paths.length - MAX_LISTED} more` : shown;
}

/** `sockets`: paths the walk left out because an archive cannot hold them. */
export async function lintRoot(root: string, entries: RootEntry[], sockets: string[] = []): Promise<RootLint> {
  const warnings: string[] = [];
  const setuid: string[] = [];
  const hostKeys: string[] = [];
  const writable: string[] = [];
  const cached = new Map<string, number>();
  const special: Record<'device' | 'fifo', string[]> = { device: [], fifo: [] };
  let machineId: RootEntry | undefined;

  for (const e of entries) {
    if (e.type === 'file' && e.mode & 0o6000)
      setuid.push(`/${e.path} ${(e.mode & 0o7777).toString(8).padStart(4, '0')}`);
    if (e.type === 'file' && /^etc\/ssh\/ssh_host_[a-z0-9]+_key$/.test(e.path)) hostKeys.push(e.path);
    if (e.path === 'etc/machine-id' && e.type === 'file') machineId = e;
    const worldWritable = (e.mode & 0o002) !== 0;
    if (worldWritable && e.type === 'file') writable.push(e.path);
    if (worldWritable && e.type === 'directory' && !(e.mode & 0o1000)) writable.push(e.path);
    const outsideDev = e.path !== 'dev' && !e.path.startsWith('dev/');
    if (outsideDev && (e.type === 'char' || e.type === 'block')) special.device.push(e.path);
    if (outsideDev && e.type === 'fifo') special.fifo.push(e.path);
    if (e.type === 'file' && e.size > 0) {
      const dir = CACHE_DIRS.find((d) => e.path.startsWith(d));
      if (dir) cached.set(dir, (cached.get(dir) ?? 0) + e.size);
    }
  }

  if (hostKeys.length)
    warnings.push(`ssh host keys ${listed(hostKeys)}: every container made from the image would share them`);
  if (machineId && machineId.size > 0) {
    const id = (await readFile(join(root, machineId.path), 'utf8')).trim();
    if (id !== '' && id !== 'uninitialized')
      warnings.push(
        `/etc/machine-id is set (${id.slice(0, 8)}...): every container made from the image would share it`,
      );
  }
  if (writable.length) warnings.push(`world-writable without the sticky bit: ${listed(writable)}`);
  if (special.device.length) warnings.push(`device nodes outside /dev: ${listed(special.device)}`);
  if (special.fifo.length) warnings.push(`FIFOs outside /dev: ${listed(special.fifo)}`);
  const strays = sockets.filter((p) => p !== 'dev' && !p.startsWith('dev/'));
  if (strays.length) warnings.push(`sockets outside /dev (left out of the archives): ${listed(strays)}`);
  for (const [dir, bytes] of cached) warnings.push(`package cache /${dir} holds ${bytes} bytes`);
  return { warnings, setuid };
}
