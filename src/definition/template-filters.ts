/**
 * The pongo2 filters definitions use, by name. Each takes the value and the
 * optional argument and returns the new value; a thrown Error becomes a
 * template error at the filter's position.
 */
export type TemplateValue = unknown;
export type Filter = (value: TemplateValue, arg: TemplateValue, hasArg: boolean) => TemplateValue;

/** pongo2's string conversion: nil is empty, booleans are True/False. */
export function toText(v: TemplateValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(toText).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${toText(x)}`).join(' ')}]`;
  }
  if (typeof v === 'bigint' || typeof v === 'symbol') return v.toString();
  return '';
}

export function isTrue(v: TemplateValue): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function toInt(v: TemplateValue): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number.parseInt(toText(v), 10);
  return Number.isNaN(n) ? 0 : n;
}

function length(v: TemplateValue): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  return 0;
}

function capfirst(s: string): string {
  const chars = [...s];
  if (chars.length === 0) return '';
  return chars[0]!.toUpperCase() + chars.slice(1).join('');
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Widest padding a filter makes: beyond it, a width is a mistake or an attack on memory. */
const MAX_PAD = 65_536;

function pad(s: string, width: number, where: 'left' | 'right' | 'center'): string {
  if (width > MAX_PAD) throw new Error(`width ${width} is larger than the most allowed, ${MAX_PAD}`);
  const n = [...s].length;
  if (width <= n) return s;
  const total = width - n;
  if (where === 'left') return ' '.repeat(total) + s;
  if (where === 'right') return s + ' '.repeat(total);
  const left = Math.floor(total / 2);
  return ' '.repeat(left) + s + ' '.repeat(total - left);
}

function slice(v: TemplateValue, spec: string): TemplateValue {
  const [a, b] = spec.split(':');
  const items: unknown[] | string[] = typeof v === 'string' ? [...v] : Array.isArray(v) ? v : [];
  const n = items.length;
  const norm = (x: string | undefined, dflt: number): number => {
    if (x === undefined || x === '') return dflt;
    const i = Number.parseInt(x, 10);
    if (Number.isNaN(i)) return dflt;
    return Math.max(0, Math.min(n, i < 0 ? n + i : i));
  };
  const out = items.slice(norm(a, 0), norm(b, n));
  return typeof v === 'string' ? (out as string[]).join('') : out;
}

export const FILTERS: Readonly<Record<string, Filter>> = {
  add: (v, a) => (typeof v === 'number' && typeof a === 'number' ? v + a : toText(v) + toText(a)),
  addslashes: (v) => toText(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/'/g, "\\'"),
  capfirst: (v) => capfirst(toText(v)),
  center: (v, a) => pad(toText(v), toInt(a), 'center'),
  cut: (v, a) => toText(v).split(toText(a)).join(''),
  default: (v, a) => (isTrue(v) ? v : a),
  default_if_none: (v, a) => (v === undefined || v === null ? a : v),
  divisibleby: (v, a) => toInt(a) !== 0 && toInt(v) % toInt(a) === 0,
  escape: (v) => escapeHtml(toText(v)),
  e: (v) => escapeHtml(toText(v)),
  first: (v) => (typeof v === 'string' ? ([...v][0] ?? '') : Array.isArray(v) ? (v as unknown[])[0] : undefined),
  float: (v) => {
    const n = Number.parseFloat(toText(v));
    return Number.isNaN(n) ? 0 : n;
  },
  integer: (v) => toInt(v),
  join: (v, a) => (Array.isArray(v) ? v.map(toText).join(toText(a)) : toText(v)),
  last: (v) => (typeof v === 'string' ? ([...v].at(-1) ?? '') : Array.isArray(v) ? (v as unknown[]).at(-1) : undefined),
  length: (v) => length(v),
  length_is: (v, a) => length(v) === toInt(a),
  ljust: (v, a) => pad(toText(v), toInt(a), 'right'),
  lower: (v) => toText(v).toLowerCase(),
  make_list: (v) => [...toText(v)],
  pluralize: (v, a, hasArg) => {
    const [one, many] = hasArg ? (toText(a).includes(',') ? toText(a).split(',', 2) : ['', toText(a)]) : ['', 's'];
    return toInt(v) === 1 ? one : many;
  },
  rjust: (v, a) => pad(toText(v), toInt(a), 'left'),
  safe: (v) => v,
  slice: (v, a) => slice(v, toText(a)),
  split: (v, a) => toText(v).split(toText(a)),
  striptags: (v) => toText(v).replace(/<[^>]*>/g, ''),
  title: (v) =>
    toText(v)
      .toLowerCase()
      .replace(/(^|\s)(\S)/g, (_m, sp: string, c: string) => sp + c.toUpperCase()),
  toHex: (v) => toInt(v).toString(16),
  truncatechars: (v, a) => {
    const s = [...toText(v)];
    const n = toInt(a);
    if (s.length <= n) return s.join('');
    return n <= 3 ? '...'.slice(0, n) : `${s.slice(0, n - 3).join('')}...`;
  },
  upper: (v) => toText(v).toUpperCase(),
  urlencode: (v) => encodeURIComponent(toText(v)),
  wordcount: (v) => toText(v).split(/\s+/).filter(Boolean).length,
  yesno: (v, a, hasArg) => {
    const parts = hasArg ? toText(a).split(',') : ['yes', 'no', 'maybe'];
    if (parts.length < 2) throw new Error("yesno needs 'yes,no' or 'yes,no,maybe'");
    if (v === undefined || v === null) return parts[2] ?? parts[1];
    return isTrue(v) ? parts[0] : parts[1];
  },
};

/** Filters that accept an undefined value without it being an error in strict mode. */
export const UNDEFINED_SAFE_FILTERS = new Set(['default', 'default_if_none', 'length', 'yesno']);
