import { KilnError } from '../../util/errors.js';
import type { Repository } from '../../definition/types.js';

export const ARMORED_KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----';

export function isArmoredKey(key: string): boolean {
  return key.trimStart().startsWith(ARMORED_KEY);
}

/** A repository name becomes a file name: one path component, nothing hidden. */
export function fileName(repo: Repository, step: string): string {
  const name = repo.name;
  if (!name || name.includes('/') || name.includes('\0') || name === '.' || name === '..' || name.startsWith('.')) {
    throw new KilnError(`${step}: repository name '${name}' must be a plain file name (no '/', not starting with '.')`);
  }
  return name;
}

export function withNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : `${s}\n`;
}

/** Single-quotes a word for a POSIX shell. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
