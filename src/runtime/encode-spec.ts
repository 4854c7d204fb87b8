import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { withDefaultLimits } from './default-limits.js';
import type { RunSpec } from './types.js';

/**
 * The wire format native/kiln-run reads on fd 3: NUL-terminated `key=value`
 * records closed by `end=`. Paths, argv, environment and scripts cannot hold
 * a NUL, so nothing needs escaping and the C parser stays a few lines long.
 */
export function encodeSpec(spec: RunSpec, parentPid: number): Buffer {
  const records: [string, string][] = [['rootfs', path.resolve(spec.rootfs)]];
  for (const arg of spec.argv ?? []) records.push(['arg', arg]);
  if (spec.script !== undefined) records.push(['script', spec.script]);
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (k === '' || k.includes('=')) throw new KilnError(`environment variable name '${k}' is empty or contains '='`);
    records.push(['env', `${k}=${v}`]);
  }
  if (spec.cwd !== undefined) records.push(['cwd', spec.cwd]);
  if (spec.hostname !== undefined) records.push(['hostname', spec.hostname]);
  records.push(['network', spec.network ?? 'none']);
  if (spec.overlay) records.push(['upper', path.resolve(spec.overlay.upperDir)]);
  for (const b of spec.binds ?? []) {
    records.push(['bind', path.resolve(b.source)], ['bind_dst', b.target], ['bind_rw', b.readWrite ? '1' : '0']);
  }
  const limits = withDefaultLimits(spec.limits);
  if (limits.memoryBytes !== undefined) records.push(['memory', String(Math.floor(limits.memoryBytes))]);
  if (limits.pids !== undefined) records.push(['pids', String(Math.floor(limits.pids))]);
  if (limits.cpus !== undefined) records.push(['cpu_milli', String(Math.max(1, Math.round(limits.cpus * 1000)))]);
  if (limits.tmpfsBytes !== undefined) records.push(['tmpfs_size', String(Math.floor(limits.tmpfsBytes))]);
  records.push(['userns', spec.allowUserNamespaces ? 'allow' : 'deny']);
  if (spec.timeoutMs !== undefined) records.push(['timeout_ms', String(Math.max(1, Math.ceil(spec.timeoutMs)))]);
  for (const line of spec.userns?.uidMap ?? []) records.push(['uid_map', line]);
  for (const line of spec.userns?.gidMap ?? []) records.push(['gid_map', line]);
  for (const cap of spec.capabilities ?? []) records.push(['cap', cap]);
  if (spec.emulator) records.push(['binfmt', spec.emulator.registration]);
  records.push(['parent', String(parentPid)]);

  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    if (value.includes('\0'))
      throw new KilnError(`run spec: ${key} contains a NUL byte: ${JSON.stringify(value.slice(0, 60))}`);
    parts.push(Buffer.from(`${key}=${value}\0`, 'utf8'));
  }
  parts.push(Buffer.from('end=\0'));
  return Buffer.concat(parts);
}
