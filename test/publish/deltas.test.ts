import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../src/publish/index.js';
import { updateDeltas } from '../../src/publish/deltas.js';
import { scanTree } from '../../src/publish/tree-scan.js';
import { MemorySink } from '../../src/util/events.js';
import { makeBuild, serials, tempDir } from './fixture.js';

/**
 * Squashfs deltas between consecutive serials, as lxc-ci publishes them:
 * `delta-<previous serial>.vcdiff` beside the new build, listed in
 * simplestreams with ftype `squashfs.vcdiff` and `delta_base`, and gone once
 * their base left the tree.
 */
const kiln = (...args: string[]) =>
  spawnSync('node', [join(process.cwd(), 'bin/kiln.js'), ...args], { encoding: 'utf8' });
const sha256 = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

type Items = Record<string, { ftype: string; path: string; sha256: string; size: number; delta_base?: string }>;

async function items(tree: string, serial: string): Promise<Items> {
  const images = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8')) as {
    products: Record<string, { versions: Record<string, { items: Items }> }>;
  };
  return images.products['kilntest:1:amd64:default']!.versions[serial]!.items;
}

describe('squashfs deltas', () => {
  let work: string;
  let tree: string;
  const [a, b, c] = serials(3) as [string, string, string];
  const productDir = 'images/kilntest/1/amd64/default';

  beforeAll(async () => {
    work = await tempDir('deltas');
    tree = join(work, 'tree');
    for (const serial of [a, b]) {
      const build = await makeBuild(work, { serial });
      await publishBuild({ tree, stagingDir: build.staging, record: build.record });
    }
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('are made from the previous serial at publish time and rebuild the new squashfs exactly', async () => {
    const dir = join(tree, productDir, b);
    const delta = join(dir, `delta-${a}.vcdiff`);
    const full = join(dir, 'rootfs.squashfs');
    expect((await stat(delta)).size).toBeLessThan((await stat(full)).size * 0.7);
    const out = join(work, 'rebuilt.squashfs');
    execFileSync('xdelta3', ['-d', '-f', '-s', join(tree, productDir, a, 'rootfs.squashfs'), delta, out]);
    expect(await sha256(out)).toBe(await sha256(full));
    // The first serial has nothing to start from.
    expect((await readdir(join(tree, productDir, a))).filter((n) => n.endsWith('.vcdiff'))).toEqual([]);
  });

  it('are listed in simplestreams as lxc-ci lists them', async () => {
    const delta = join(tree, productDir, b, `delta-${a}.vcdiff`);
    expect((await items(tree, b))[`root.${a}.vcdiff`]).toEqual({
      ftype: 'squashfs.vcdiff',
      path: `${productDir}/${b}/delta-${a}.vcdiff`,
      sha256: await sha256(delta),
      size: (await stat(delta)).size,
      delta_base: a,
    });
    expect(Object.values(await items(tree, a)).map((i) => i.ftype)).not.toContain('squashfs.vcdiff');
  });

  it('are not published when larger than the share of the full squashfs', async () => {
    const products = await scanTree(tree, { sink: new MemorySink() });
    await rm(join(tree, productDir, b, '.kiln-deltas.json'));
    await rm(join(tree, productDir, b, `delta-${a}.vcdiff`));
    const sink = new MemorySink();
    await updateDeltas(products, sink, 0.0001);
    expect((await readdir(join(tree, productDir, b))).filter((n) => n.includes('vcdiff'))).toEqual([]);
    expect(JSON.stringify(sink.events)).toMatch(/no delta from .*more than 0% of the \d+-byte squashfs/);
    // Refused once, it is not tried again at every regeneration; items have no delta.
    expect(kiln('index', tree).status).toBe(0);
    expect((await readdir(join(tree, productDir, b))).filter((n) => n.includes('vcdiff'))).toEqual([]);
    expect(Object.values(await items(tree, b)).map((i) => i.ftype)).not.toContain('squashfs.vcdiff');
    await rm(join(tree, productDir, b, '.kiln-deltas.json'));
    expect(kiln('index', tree).status).toBe(0);
    expect((await items(tree, b))[`root.${a}.vcdiff`]?.delta_base).toBe(a);
  });

  it('go with their base: pruning the base removes the delta, the next build gets its own', async () => {
    const build = await makeBuild(work, { serial: c });
    await publishBuild({ tree, stagingDir: build.staging, record: build.record });
    expect((await items(tree, c))[`root.${b}.vcdiff`]?.delta_base).toBe(b);
    const r = kiln('prune', tree, '--keep', '2', '--grace', '0s');
    expect(r.status, r.stderr).toBe(0);
    expect((await readdir(join(tree, productDir))).sort()).toEqual([b, c]);
    expect((await readdir(join(tree, productDir, b))).filter((n) => n.includes('vcdiff'))).toEqual([]);
    expect(Object.keys(await items(tree, b)).filter((k) => k.endsWith('.vcdiff'))).toEqual([]);
    expect(await readdir(join(tree, productDir, c))).toContain(`delta-${b}.vcdiff`);
  });
});
