import { availableParallelism } from 'node:os';
import { KilnError } from '../util/errors.js';
import type { TarCompression } from './types.js';

/**
 * Tarball compressors, one table entry per method. Every command line is
 * chosen so that equal input gives equal output on any machine: xz always
 * runs in its multi-threaded block mode with a pinned block size (its
 * output then does not depend on the thread count; `-T1` would switch to the
 * single-stream format), zstd's worker mode is likewise independent of the
 * worker count, and gzip gets `-n` (no name, no time stamp).
 */
export interface Compressor {
  extension: string;
  defaultLevel: number;
  levels: [number, number];
  /** Command and arguments reading stdin and writing stdout; null writes the tar as is. */
  command(level: number): [string, string[]] | null;
}

/** xz presets' dictionary sizes in MiB; xz's own default block is 3x the dictionary. */
const XZ_DICT_MIB = [0.25, 1, 2, 4, 4, 8, 8, 16, 32, 64];

function xzThreads(): string {
  return availableParallelism() > 1 ? '--threads=0' : '--threads=+1';
}

export const compressors: Record<TarCompression['method'], Compressor> = {
  xz: {
    extension: '.tar.xz',
    defaultLevel: 6,
    levels: [0, 9],
    command: (level) => [
      'xz',
      ['-z', '-c', '-q', `-${level}`, xzThreads(), `--block-size=${Math.max(1, 3 * (XZ_DICT_MIB[level] ?? 8))}MiB`],
    ],
  },
  zstd: {
    extension: '.tar.zst',
    defaultLevel: 3,
    levels: [1, 22],
    command: (level) => [
      'zstd',
      ['-z', '-c', '-q', '--no-progress', '-T0', ...(level > 19 ? ['--ultra'] : []), `-${level}`],
    ],
  },
  gzip: {
    extension: '.tar.gz',
    defaultLevel: 6,
    levels: [1, 9],
    command: (level) => ['gzip', ['-c', '-n', `-${level}`]],
  },
  none: {
    extension: '.tar',
    defaultLevel: 0,
    levels: [0, 0],
    command: () => null,
  },
};

/** The command for a compression choice, checking the level. */
export function compressorCommand(c: TarCompression): { extension: string; command: [string, string[]] | null } {
  const comp = compressors[c.method];
  if (comp === undefined) {
    throw new KilnError(`compression "${String(c.method)}" is not known: use ${Object.keys(compressors).join(', ')}`);
  }
  const level = c.level ?? comp.defaultLevel;
  if (!Number.isInteger(level) || level < comp.levels[0] || level > comp.levels[1]) {
    throw new KilnError(
      `compression level ${level} is not valid for ${c.method}: use ${comp.levels[0]} to ${comp.levels[1]}`,
    );
  }
  return { extension: comp.extension, command: comp.command(level) };
}
