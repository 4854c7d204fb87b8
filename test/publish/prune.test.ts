import { spawnSync } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/pipeline/record.js';
import { publishBuild } from '../../src/publish/index.js';
import { cloneBuild, makeBuild, serials, tempDir } from './fixture.js';

const kiln = (...args: string[]) =>
  spawnSync('node', [join(process.cwd(), 'bin/kiln.js'), ...args], { encoding: 'utf8' });

describe('kiln prune', () => {
  let work: string;
  let tree: string;
  const all = serials(5);
  const productDir = 'images/kilntest/1/amd64/default';

  const versions = async () => {
    const images = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8')) as {
      products: Record<string, { versions: Record<string, unknown> }>;
    };
    return Object.keys(images.products['kilntest:1:amd64:default']!.versions).sort();
  };

  beforeAll(async () => {
    work = await tempDir('prune');
    tree = join(work, 'tree');
    const base: { staging: string; record: BuildRecord } = await makeBuild(work, { serial: '20250101_00:00' });
    for (const s of all) {
      const b = await cloneBuild(work, base, s);
      await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    }
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('after 5 builds with --keep 3, the indexes list 3 at once while the files of the other 2 stay for the grace period', async () => {
    expect(await versions()).toEqual(all);
    const r = kiln('prune', tree, '--keep', '3', '--grace', '3s');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('took 2 builds out of the indexes, deleted 0, 2 waiting');
    expect(await versions()).toEqual(all.slice(2));
    expect(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).toBe(
      `kilntest;1;amd64;default;${all[4]};/${productDir}/${all[4]}/\n`,
    );
    expect((await readdir(join(tree, productDir))).sort()).toEqual(all);
    const state = JSON.parse(await readFile(join(tree, '.kiln/prune.json'), 'utf8')) as { pending: { path: string }[] };
    expect(state.pending.map((p) => p.path)).toEqual([`${productDir}/${all[0]}`, `${productDir}/${all[1]}`]);
  });

  it('a prune run before the grace period ends deletes nothing; one after it deletes the pruned builds', async () => {
    const early = kiln('prune', tree, '--keep', '3', '--grace', '3s');
    expect(early.stdout).toContain('took 0 builds out of the indexes, deleted 0, 2 waiting');
    expect((await readdir(join(tree, productDir))).sort()).toEqual(all);
    // `kiln index` must not bring pruned builds back.
    expect(kiln('index', tree).status).toBe(0);
    expect(await versions()).toEqual(all.slice(2));
    await new Promise((r) => setTimeout(r, 3200));
    const late = kiln('prune', tree, '--keep', '3');
    expect(late.stdout).toContain('deleted 2, 0 waiting');
    expect((await readdir(join(tree, productDir))).sort()).toEqual(all.slice(2));
    expect(await versions()).toEqual(all.slice(2));
  });

  it('refuses --keep 0, a missing tree and a grace that is not a duration, with one line saying what is allowed', async () => {
    const zero = kiln('prune', tree, '--keep', '0');
    expect(zero.status).toBe(2);
    expect(zero.stderr).toBe("kiln: --keep '0': expected a whole number of builds, at least 1\n");
    const missing = kiln('prune', join(work, 'nowhere'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      `kiln: ${join(work, 'nowhere')}: not a directory; give an image tree (the --out of kiln build)\n`,
    );
    const bad = kiln('prune', tree, '--grace', 'soon');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /^kiln: --grace: 'soon' is not a duration; use a number with a unit \(ms, s, m, h, d, w\)/,
    );
  });

  it('refuses an unknown option and a second directory with exit 2, the reason on one line and then the usage', () => {
    const unknown = kiln('prune', tree, '--bogus');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe(
      "kiln: Unknown option '--bogus'\nUsage: kiln prune [DIR] [--keep N] [--grace DURATION] [--dry-run]\n",
    );
    const two = kiln('prune', tree, tree);
    expect(two.status).toBe(2);
    expect(two.stderr).toBe(
      'kiln: prune takes one directory\nUsage: kiln prune [DIR] [--keep N] [--grace DURATION] [--dry-run]\n',
    );
  });
});
