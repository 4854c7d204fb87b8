import { UsageError } from '../util/errors.js';
import type { OutputFormat, SquashfsCompression, TarCompression } from '../pack/types.js';

// The one check of output flags, shared by `kiln build`, `kiln build --catalog`
// and `kiln plan --catalog --matrix` (which must digest the same choices).

const FORMATS: OutputFormat[] = ['lxc', 'incus', 'unified'];

export function parseFormats(value: string): OutputFormat[] {
  const formats = value
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const f of formats) {
    if (!FORMATS.includes(f as OutputFormat))
      throw new UsageError(`--formats: unknown format '${f}'; allowed: ${FORMATS.join(', ')}`);
  }
  if (formats.length === 0) throw new UsageError('--formats: give at least one of lxc, incus, unified');
  return [...new Set(formats)] as OutputFormat[];
}

export function parseCompression(value: string): TarCompression {
  const [method, level, extra] = value.split(':');
  const limits: Record<string, [number, number]> = { xz: [0, 9], zstd: [1, 19], gzip: [1, 9], none: [0, 0] };
  const range = method === undefined ? undefined : limits[method];
  if (!range || extra !== undefined)
    throw new UsageError(`--compression: '${value}' is not one of xz, zstd, gzip, none with an optional :LEVEL`);
  if (level === undefined) return { method: method as TarCompression['method'] };
  const n = Number(level);
  if (!Number.isInteger(n) || n < range[0] || n > range[1]) {
    throw new UsageError(`--compression: level '${level}' for ${method} must be ${range[0]} to ${range[1]}`);
  }
  return { method: method as TarCompression['method'], level: n };
}

export function parseSquashfsCompression(value: string): SquashfsCompression {
  const allowed = ['xz', 'zstd', 'gzip', 'lz4'];
  if (!allowed.includes(value))
    throw new UsageError(`--squashfs-compression: '${value}' is not one of ${allowed.join(', ')}`);
  return value as SquashfsCompression;
}
