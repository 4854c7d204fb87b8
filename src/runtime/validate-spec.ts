import { statSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import type { RunSpec } from './types.js';

const MAP_LINE = /^\d+ \d+ \d+$/;

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Mistakes a caller can make, reported before anything is created. */
export function validateSpec(spec: RunSpec): void {
  const hasArgv = spec.argv !== undefined && spec.argv.length > 0;
  if (hasArgv === (spec.script !== undefined)) {
    throw new KilnError('run spec: give exactly one of argv (a non-empty command) and script');
  }
  if (!isDir(spec.rootfs)) throw new KilnError(`rootfs ${spec.rootfs}: not a directory`);
  if (path.resolve(spec.rootfs) === '/') throw new KilnError('rootfs /: the host root cannot be a container root');
  if (spec.cwd !== undefined && !spec.cwd.startsWith('/'))
    throw new KilnError(`working directory ${spec.cwd}: must be an absolute path inside the container`);
  if (spec.network !== undefined && spec.network !== 'host' && spec.network !== 'none') {
    throw new KilnError(`network '${String(spec.network)}': allowed values are host and none`);
  }
  if (spec.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(spec.hostname)) {
    throw new KilnError(`hostname '${spec.hostname}': letters, digits, '.' and '-', at most 63 characters`);
  }
  if (spec.overlay) {
    const upper = path.resolve(spec.overlay.upperDir);
    // overlayfs splits its options on ',' and its layer lists on ':'.
    for (const p of [upper, path.resolve(spec.rootfs)]) {
      if (/[,:\\]/.test(p))
        throw new KilnError(`overlay: path ${p} contains ',', ':' or '\\', which overlayfs cannot take`);
    }
    const root = path.resolve(spec.rootfs);
    if (upper === root || upper.startsWith(`${root}/`) || root.startsWith(`${upper}/`)) {
      throw new KilnError(`overlay: upper dir ${upper} must lie outside the rootfs ${root} (and not contain it)`);
    }
  }
  for (const b of spec.binds ?? []) {
    try {
      statSync(b.source);
    } catch {
      throw new KilnError(`bind mount source ${b.source}: does not exist`);
    }
    if (!b.target.startsWith('/'))
      throw new KilnError(`bind mount target ${b.target}: must be an absolute path inside the container`);
  }
  const limits = spec.limits ?? {};
  for (const [name, v] of Object.entries(limits)) {
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw new KilnError(`limit ${name}: must be a positive number, got ${String(v)}`);
    }
  }
  if (spec.timeoutMs !== undefined && !(spec.timeoutMs > 0))
    throw new KilnError(`timeout ${spec.timeoutMs} ms: must be positive`);
  if (spec.userns) {
    const lines = [...spec.userns.uidMap, ...spec.userns.gidMap];
    if (spec.userns.uidMap.length === 0 || spec.userns.gidMap.length === 0) {
      throw new KilnError('user namespace: both uidMap and gidMap need at least one line');
    }
    for (const l of lines) {
      if (!MAP_LINE.test(l))
        throw new KilnError(`user namespace map line '${l}': expected 'inside outside count', e.g. '0 100000 65536'`);
    }
    checkReachable(path.resolve(spec.rootfs), spec.userns.uidMap);
    if (spec.overlay) checkReachable(path.dirname(path.resolve(spec.overlay.upperDir)), spec.userns.uidMap);
  }
}

/** The host uid that root inside the namespace maps to. */
function mappedRoot(uidMap: string[]): number | undefined {
  for (const line of uidMap) {
    const [inside, outside] = line.split(' ').map(Number);
    if (inside === 0) return outside;
  }
  return undefined;
}

/**
 * In a user namespace the kernel opens the rootfs as the mapped uid: every
 * directory above it must let that uid through.
 */
function checkReachable(target: string, uidMap: string[]): void {
  const uid = mappedRoot(uidMap);
  if (uid === undefined) return;
  for (let d = target; ; d = path.dirname(d)) {
    const st = statSync(d);
    const through = st.uid === uid ? st.mode & 0o100 : st.mode & 0o001;
    if (!through) {
      throw new KilnError(
        `user namespace: ${d} (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid}) does not let uid ${uid} reach ${target}; make it world-searchable (chmod o+x)`,
      );
    }
    if (d === '/') return;
  }
}
