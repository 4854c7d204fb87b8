import { KilnError } from '../../util/errors.js';
import type { FileEntry } from '../../definition/types.js';
import type { WriteOptions } from '../file-ops.js';

/** `mode`, `uid`, `gid` of a files[] entry as numbers (mode is octal, ids numeric). */
export function writeOptions(entry: FileEntry, step: string): WriteOptions {
  const opts: WriteOptions = {};
  if (entry.mode !== undefined && entry.mode !== '') {
    if (!/^[0-7]{3,4}$/.test(entry.mode))
      throw new KilnError(`${step}: mode '${entry.mode}' is not an octal mode such as 0644`);
    opts.mode = parseInt(entry.mode, 8);
  }
  for (const key of ['uid', 'gid'] as const) {
    const v = entry[key];
    if (v === undefined || v === '') continue;
    if (!/^\d+$/.test(String(v))) throw new KilnError(`${step}: ${key} '${v}' is not a numeric id`);
    opts[key] = Number(v);
  }
  return opts;
}

export function requirePath(entry: FileEntry, step: string): string {
  if (!entry.path) throw new KilnError(`${step}: generator '${entry.generator}' needs a path`);
  return entry.path;
}

export function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}
