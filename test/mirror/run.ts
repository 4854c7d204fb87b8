import { kiln } from '../helpers/kiln.js';

export interface MirrorEvent {
  type: string;
  level?: string;
  message?: string;
  [k: string]: unknown;
}

/** Runs the real `kiln mirror ... --json`: its exit code, output and events (on stderr), and its result event. */
export async function mirrorRun(args: string[], env?: Record<string, string>) {
  const r = await kiln(['mirror', ...args, '--json'], { timeout: 300_000, ...(env ? { env } : {}) });
  const events = (r.stderr ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as MirrorEvent);
  const result = events.find((e) => e.type === 'result') as
    | (MirrorEvent & {
        published: string[];
        pruned: string[];
        deleted: string[];
        bytesFetched: number;
        indexBytes: number;
        reused: number;
      })
    | undefined;
  return { exitCode: r.exitCode, all: r.all ?? '', result: result!, events };
}
