import { KilnError } from '../util/errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `6h`, `90m`, `1h30m`, `2d`, `45s` or `0` into milliseconds. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== t.length) {
    throw new KilnError(
      `${what}: '${text}' is not a duration; use a number with a unit (ms, s, m, h, d, w), e.g. 6h, 90m, 1h30m, or 0`,
    );
  }
  return total;
}
