import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compressorCommand } from '../../src/pack/compressors.js';
import { packImage } from '../../src/pack/index.js';
import type { PackResult } from '../../src/pack/types.js';
import { makeBusyboxRoot, packInput } from './fixtures.js';
import { tarVerbose } from './helpers.js';

/** The first member that differs between two tarballs, diffoscope-style, for the failure message. */
function firstTarDifference(a: string, b: string): string {
  const la = tarVerbose(a);
  const lb = tarVerbose(b);
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `member ${i}:\n  - ${la[i] ?? '(none)'}\n  + ${lb[i] ?? '(none)'}`;
  }
  return 'listings are equal: the difference is in file content or compression';
}

function firstSquashfsDifference(a: string, b: string): string {
  const list = (f: string) =>
    execFileSync('unsquashfs', ['-lln', '-full-precision', f], { encoding: 'utf8' }).split('\n').slice(1);
  const la = list(a);
  const lb = list(b);
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `inode ${i}:\n  - ${la[i] ?? '(none)'}\n  + ${lb[i] ?? '(none)'}`;
  }
  return 'listings are equal: the difference is in file content or the superblock';
}

describe('reproducible packing', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function build(): Promise<{ out: string; result: PackResult }> {
    // A fresh root each time: new inode numbers, new mtimes, another temp path.
    const dir = mkdtempSync(join(tmpdir(), 'kiln-pack-repro-'));
    dirs.push(dir);
    const root = join(dir, 'root');
    const out = join(dir, 'out');
    mkdirSync(root);
    mkdirSync(out);
    makeBusyboxRoot(root);
    const result = await packImage(packInput(root, out, { formats: ['lxc', 'incus', 'unified'] }));
    return { out, result };
  }

  it('gives byte-identical artifacts for two builds at different times in different directories', async () => {
    const first = await build();
    await new Promise((r) => setTimeout(r, 1500));
    const second = await build();
    const hashes = (r: PackResult) => Object.fromEntries(r.artifacts.map((a) => [a.name, a.sha256]));
    expect(Object.keys(hashes(first.result)).sort()).toEqual(Object.keys(hashes(second.result)).sort());
    for (const a of first.result.artifacts) {
      const b = second.result.artifacts.find((x) => x.name === a.name);
      let why = '';
      if (b?.sha256 !== a.sha256) {
        const pa = join(first.out, a.name);
        const pb = join(second.out, a.name);
        if (a.name.includes('.tar')) why = firstTarDifference(pa, pb);
        else if (a.name.endsWith('.squashfs')) why = firstSquashfsDifference(pa, pb);
        else why = `${readFileSync(pa, 'utf8').slice(0, 2000)}\n---\n${readFileSync(pb, 'utf8').slice(0, 2000)}`;
      }
      expect(b?.sha256, `${a.name} differs: ${why}`).toBe(a.sha256);
    }
    expect(second.result.fingerprints).toEqual(first.result.fingerprints);
  });

  it('xz and zstd output does not depend on the number of threads, so any machine gives the same bytes', () => {
    // Level 0 pins 1 MiB xz blocks: 3 MiB of mixed data spans several blocks.
    const data = Buffer.alloc(3 * 1024 * 1024 + 77);
    for (let i = 0; i < data.length; i += 8) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    for (const c of [
      { method: 'xz' as const, level: 0 },
      { method: 'zstd' as const, level: 3 },
    ]) {
      const [cmd, args] = compressorCommand(c).command as [string, string[]];
      const digests = ['1', '2', '4'].map((n) => {
        const threaded = args.map((a) =>
          a === '--threads=0' ? (n === '1' ? '--threads=+1' : `--threads=${n}`) : a === '-T0' ? `-T${n}` : a,
        );
        return createHash('sha256')
          .update(execFileSync(cmd, threaded, { input: data, maxBuffer: 64 * 1024 * 1024 }))
          .digest('hex');
      });
      expect(new Set(digests).size, `${c.method}: ${digests.join(' ')}`).toBe(1);
    }
  });
});
