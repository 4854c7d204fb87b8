import { execa, type Options, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const KILN_BIN = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));

/** Runs the real CLI (compiled by the vitest global setup); never throws on a non-zero exit. */
export function kiln(args: string[], opts: Options = {}) {
  return execa('node', [KILN_BIN, ...args], { reject: false, all: true, cwd: ROOT, ...opts });
}

/** Starts the CLI in the background (e.g. `kiln serve`). */
export function kilnBackground(args: string[], opts: Options = {}): ResultPromise {
  return execa('node', [KILN_BIN, ...args], { reject: false, cwd: ROOT, buffer: false, ...opts });
}
