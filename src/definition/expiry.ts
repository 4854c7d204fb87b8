import { KilnError } from '../util/errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `image.expiry` (`30d`, `1w 2d 3h`; `m` is minutes) in seconds. */
export function parseExpiry(expiry: string): number {
  const re = /(\d+)\s*([smhdw])/g;
  let total = 0;
  let matched = '';
  let m: RegExpExecArray | null;
  while ((m = re.exec(expiry)) !== null) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    matched += m[0];
  }
  if (matched.replace(/\s/g, '') !== expiry.replace(/\s/g, '') || matched === '') {
    throw new KilnError(
      `bad image.expiry '${expiry}': expected a duration such as 30d or 1w 2d 3h (units s, m, h, d, w)`,
    );
  }
  return total;
}
