import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/pipeline/record.js';
import { writeBuildRecord } from '../../src/pack/record.js';

function record(): BuildRecord {
  return {
    serial: '20240101_0000',
    kiln: { version: '0.1.0' },
    product: { variant: 'default', arch: 'amd64', release: '1.36', distribution: 'busybox' },
    os: 'busybox',
    releaseTitle: '1.36',
    aliases: ['busybox/1.36'],
    description: 'Busybox',
    userConfig: true,
    creationDate: 1700000000,
    expiryDate: 1702592000,
    definition: { file: 'busybox.yaml', digest: 'sha256:00' },
    sources: [],
    artifacts: [{ sha256: 'ab', size: 1, role: 'lxc.meta', name: 'meta.tar.xz' }],
    fingerprints: { combined_squashfs_sha256: 'cd' },
    timings: { pack: 3, source: 1 },
  };
}

describe('writeBuildRecord', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-pack-record-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes build.json with sorted keys at every depth and a trailing newline', async () => {
    const path = await writeBuildRecord(dir, record());
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(record());
    expect(Object.keys(JSON.parse(text) as object)).toEqual(Object.keys(record()).sort());
    expect(text).toContain('"artifacts": [\n    {\n      "name": "meta.tar.xz",\n      "role": "lxc.meta",');
    expect(readdirSync(dir)).toEqual(['build.json']);
  });

  it('gives the same bytes whatever order the fields were set in', async () => {
    const a = readFileSync(await writeBuildRecord(dir, record()), 'utf8');
    const shuffled = Object.fromEntries(Object.entries(record()).reverse()) as unknown as BuildRecord;
    const b = readFileSync(await writeBuildRecord(dir, shuffled), 'utf8');
    expect(b).toBe(a);
  });
});
