import { KilnError } from '../util/errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * `image.expiry` (`30d`, `1w 2d 3h`; `m` is minutes) in seconds. Unlike
 * distrobuilder, garbage is an error instead of "expires now".
 */
export function expirySeconds(expiry: string): number {
  const parts = expiry.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) throw new KilnError(`image.expiry '${expiry}' is empty; use e.g. 30d, 2w, 12h`);
  let total = 0;
  for (const part of parts) {
    const m = /^(\d+)([smhdw])$/.exec(part);
    if (!m) throw new KilnError(`image.expiry '${expiry}': '${part}' is not NUMBER followed by s, m, h, d or w`);
    total += Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
  }
  return total;
}
