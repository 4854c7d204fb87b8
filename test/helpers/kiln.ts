import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const KILN_BIN = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));

export interface KilnRunOptions {
  timeout?: number;
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
}

/** Runs the real CLI (compiled by the vitest global setup); never throws on a non-zero exit. */
export function kiln(args: string[], opts: KilnRunOptions = {}) {
  return execa('node', [KILN_BIN, ...args], {
    reject: false,
    all: true,
    cwd: opts.cwd ?? ROOT,
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

/** Starts the CLI in the background (e.g. `kiln serve`). */
export function kilnBackground(args: string[], opts: { env?: Record<string, string> } = {}) {
  return execa('node', [KILN_BIN, ...args], {
    reject: false,
    cwd: ROOT,
    buffer: false,
    ...(opts.env ? { env: opts.env } : {}),
  });
}

/** The `result` event of a `--json` run: events are one JSON object per line of its output. */
export function resultEvent<T>(all: string): T | undefined {
  return all
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string } & T)
    .find((e) => e.type === 'result');
}
