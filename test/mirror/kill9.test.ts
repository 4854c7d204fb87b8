import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILN_BIN, ROOT } from '../helpers/kiln.js';
import { mirrorRun } from './run.js';
import { Upstream, type SsImages } from './upstream.js';

const KEY = 'kilnmirror:1:amd64:default';
const DEF = 'images/kilnmirror/1/amd64/default';

/** What clients may fetch from the tree is all there: every streams item and every LXC index line's pair. */
async function assertValid(tree: string): Promise<void> {
  if (!existsSync(join(tree, 'streams/v1/images.json'))) return;
  const images = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8')) as SsImages;
  for (const p of Object.values(images.products))
    for (const v of Object.values(p.versions))
      for (const it of Object.values(v.items)) {
        const b = await readFile(join(tree, it.path));
        expect(b.length, it.path).toBe(it.size);
        expect(createHash('sha256').update(b).digest('hex'), it.path).toBe(it.sha256);
      }
  for (const line of (await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).split('\n').filter(Boolean)) {
    const dir = line.split(';')[5]!;
    for (const f of ['rootfs.tar.xz', 'meta.tar.xz']) expect((await stat(join(tree, dir, f))).isFile()).toBe(true);
  }
}

describe('kill -9 during kiln mirror, then a rerun', () => {
  let work: string;
  let up: Upstream;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-mirror-kill9-'));
    up = await Upstream.create(work);
    await up.start();
  });
  afterAll(async () => {
    await up?.close();
    await rm(work, { recursive: true, force: true });
  });

  const start = (tree: string) =>
    execa('node', [KILN_BIN, 'mirror', up.url, '--out', tree, '--only', KEY], { reject: false, cwd: ROOT });

  it('killed in the middle of a file: the tree stays valid and the rerun resumes it with a Range request', async () => {
    const tree = join(work, 'mid-file');
    const squash = `${DEF}/20260102_00:00/rootfs.squashfs`;
    up.slow.set(squash, 64 * 1024);
    const child = start(tree);
    const part = join(
      tree,
      '.kiln/mirror/objects',
      `${createHash('sha256')
        .update(await up.file(squash))
        .digest('hex')}.part`,
    );
    for (let i = 0; i < 300; i++) {
      if (
        (await stat(part).then(
          (s) => s.size,
          () => 0,
        )) > 100_000
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await child;
    up.slow.clear();
    await assertValid(tree);
    const before = up.log.length;
    const r = await mirrorRun([up.url, '--out', tree, '--only', KEY]);
    expect(r.exitCode, r.all).toBe(0);
    const resumed = up.log.slice(before).filter((l) => l.path === squash);
    expect(resumed.map((l) => l.status)).toEqual([206]);
    await assertValid(tree);
    expect((await readdir(join(tree, DEF))).sort()).toEqual(['20260101_00:00', '20260102_00:00']);
  });

  for (const ms of [150, 400, 700, 1000]) {
    it(`killed after ${ms} ms: the tree is valid, and a rerun completes it`, async () => {
      const tree = join(work, `at-${ms}`);
      const child = start(tree);
      await new Promise((r) => setTimeout(r, ms));
      child.kill('SIGKILL');
      await child;
      await assertValid(tree);
      const r = await mirrorRun([up.url, '--out', tree, '--only', KEY]);
      expect(r.exitCode, r.all).toBe(0);
      await assertValid(tree);
      expect((await readdir(join(tree, DEF))).sort()).toEqual(['20260101_00:00', '20260102_00:00']);
    });
  }
});
