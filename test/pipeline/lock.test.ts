import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { artifactDigests } from '../helpers/digests.js';
import { kiln, ROOT } from '../helpers/kiln.js';

const SERIAL = '20260101_0000';
const SDE = { SOURCE_DATE_EPOCH: '1767225600' };
const BUSYBOX = path.join(ROOT, 'definitions/busybox.yaml');
const REL = `images/busybox/1.35/amd64/default/${SERIAL}`;

/**
 * Every build writes build.lock.json, and `kiln build --lock` takes it back:
 * the busybox image (its one input is the host's busybox binary) shows the
 * mechanics in seconds; test/pack/debian-reproducible.test.ts shows apt's
 * package versions pinned.
 */
describe('kiln build --lock', () => {
  let tmp: string;
  let first: string;
  const build = (out: string, ...extra: string[]) =>
    kiln(
      [
        'build',
        BUSYBOX,
        '--serial',
        SERIAL,
        '--out',
        path.join(tmp, out),
        '--work-dir',
        path.join(tmp, 'work'),
        ...extra,
      ],
      {
        env: SDE,
      },
    );

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-lock-'));
    const r = await build('first');
    expect(r.exitCode, r.all).toBe(0);
    first = path.join(tmp, 'first', REL);
  }, 120_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('every build writes a lock beside build.json, covered by SHA256SUMS', () => {
    const lock = JSON.parse(readFileSync(path.join(first, 'build.lock.json'), 'utf8')) as Record<string, unknown>;
    expect(lock).toMatchObject({
      lockVersion: 1,
      product: { distribution: 'busybox', release: '1.35', arch: 'amd64', variant: 'default' },
      inputs: [{ url: 'file:///usr/bin/busybox' }],
      packages: [],
    });
    expect(readFileSync(path.join(first, 'SHA256SUMS'), 'utf8')).toMatch(/ {2}build\.lock\.json\n/);
    const record = JSON.parse(readFileSync(path.join(first, 'build.json'), 'utf8')) as {
      artifacts: { name: string; role: string }[];
    };
    expect(record.artifacts).toContainEqual(expect.objectContaining({ name: 'build.lock.json', role: 'lock' }));
  });

  it('a build from that lock gives the same artifacts, the lock included', async () => {
    const r = await build('again', '--lock', path.join(first, 'build.lock.json'));
    expect(r.exitCode, r.all).toBe(0);
    expect(artifactDigests(path.join(tmp, 'again', REL))).toEqual(artifactDigests(first));
  }, 120_000);

  it('an upstream file that changed since the lock stops the build, named, with nothing published', async () => {
    const lock = JSON.parse(readFileSync(path.join(first, 'build.lock.json'), 'utf8')) as {
      inputs: { url: string; sha256: string }[];
    };
    lock.inputs[0]!.sha256 = '0'.repeat(64);
    const file = path.join(tmp, 'moved.lock.json');
    await writeFile(file, JSON.stringify(lock));
    const r = await build('moved', '--lock', file);
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain(
      `kiln: upstream files changed since ${file} was written: file:///usr/bin/busybox; nothing was published`,
    );
    expect(r.all).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(tmp, 'moved', 'images'))).toBe(false);
  }, 120_000);

  it('a missing, malformed or foreign lock is refused before anything is fetched', async () => {
    const missing = await build('x', '--lock', path.join(tmp, 'nothere.json'));
    expect(missing.all).toContain(`kiln: ${path.join(tmp, 'nothere.json')}: cannot read the lock (ENOENT)`);
    const foreign = await kiln([
      'build',
      path.join(ROOT, 'definitions/debian.yaml'),
      '--out',
      path.join(tmp, 'x'),
      '--lock',
      path.join(first, 'build.lock.json'),
    ]);
    expect(foreign.exitCode).toBe(1);
    expect(foreign.all).toContain('the lock is for busybox/1.35/amd64/default, this build is debian/');
    expect(foreign.all).not.toContain('==> source');
    const catalog = await kiln(['build', '--catalog', path.join(ROOT, 'kiln.yaml'), '--lock', 'x']);
    expect(catalog.exitCode).toBe(2);
    expect(catalog.all).toContain('--lock pins one build');
  }, 120_000);

  it("a catalog entry's locks directory pins the cells that have a lock there, and the matrix says which", async () => {
    const locks = path.join(tmp, 'locks');
    await mkdir(locks);
    await writeFile(
      path.join(locks, 'busybox:1.35:amd64:default.lock.json'),
      readFileSync(path.join(first, 'build.lock.json')),
    );
    const catalog = path.join(tmp, 'kiln.yaml');
    await writeFile(catalog, `images:\n- definition: ${BUSYBOX}\n  locks: locks\n`);
    const m = await kiln(['plan', '--catalog', catalog, '--matrix', '--json', '--out', path.join(tmp, 'cat')]);
    expect(m.exitCode, m.all).toBe(0);
    const rows = JSON.parse(m.stdout) as { id: string; lock?: string }[];
    expect(rows).toEqual([
      expect.objectContaining({ id: 'busybox:1.35:amd64:default', lock: 'locks/busybox:1.35:amd64:default.lock.json' }),
    ]);
  }, 120_000);
});
