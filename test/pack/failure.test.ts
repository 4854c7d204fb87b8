import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packImage } from '../../src/pack/index.js';
import { KilnError } from '../../src/util/errors.js';
import type { EventSink, KilnEvent } from '../../src/util/events.js';
import { makeBusyboxRoot, packInput } from './fixtures.js';

function childCommands(): string[] {
  const r = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'comm='], { encoding: 'utf8' }).trim();
  return r === '' ? [] : r.split('\n').filter((c) => c !== 'ps');
}

describe('packing failures leave nothing behind', () => {
  let dir: string;
  let root: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pack-fail-'));
    root = join(dir, 'root');
    mkdirSync(root);
    makeBusyboxRoot(root);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an abort while the compressors run stops them and removes every partial artifact', async () => {
    const out = join(dir, 'out-abort');
    mkdirSync(out);
    const ac = new AbortController();
    const sink: EventSink = {
      emit(e: KilnEvent) {
        if (e.type === 'progress') ac.abort(new Error('stopped by the test'));
      },
    };
    await expect(packImage(packInput(root, out, { sink, signal: ac.signal }))).rejects.toThrow('stopped by the test');
    expect(readdirSync(out)).toEqual([]);
    expect(childCommands().filter((c) => ['xz', 'tar2sqfs', 'getfattr'].includes(c))).toEqual([]);
  });

  it('refuses to overwrite an artifact already in the output directory, and keeps it', async () => {
    const out = join(dir, 'out-existing');
    mkdirSync(out);
    writeFileSync(join(out, 'rootfs.squashfs'), 'not ours');
    const p = packImage(packInput(root, out));
    await expect(p).rejects.toBeInstanceOf(KilnError);
    await expect(p).rejects.toThrow(/rootfs.squashfs already exists/);
    expect(readdirSync(out)).toEqual(['rootfs.squashfs']);
  });

  it('names the allowed values for an unknown compression', async () => {
    const out = join(dir, 'out-comp');
    mkdirSync(out);
    await expect(packImage(packInput(root, out, { compression: { method: 'xz', level: 12 } }))).rejects.toThrow(
      'compression level 12 is not valid for xz: use 0 to 9',
    );
    await expect(packImage(packInput(root, out, { squashfsCompression: 'brotli' as unknown as 'xz' }))).rejects.toThrow(
      'squashfs compression "brotli" is not known: use xz, zstd, gzip, lz4',
    );
    expect(readdirSync(out)).toEqual([]);
  });
});
