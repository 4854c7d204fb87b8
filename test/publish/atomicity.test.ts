import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/pipeline/record.js';
import { regenerateIndexes } from '../../src/publish/index.js';
import { cloneBuild, makeBuild, serials, tempDir } from './fixture.js';

const child = join(process.cwd(), 'test/publish/publish-child.mjs');

interface Run {
  killed: boolean;
  ms: number;
}

/** Runs the publisher; with `killAfterMs` it is SIGKILLed that long after it said it is ready. */
function publishOnce(tree: string, stagings: string[], killAfterMs?: number): Promise<Run | 'not-started'> {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [child, tree, ...stagings], { stdio: ['ignore', 'pipe', 'pipe'] });
    let t0 = 0;
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.once('data', () => {
      t0 = Date.now();
      if (killAfterMs !== undefined) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    });
    p.stdout.resume();
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, ms: Date.now() - t0 });
      else if (code === 0) resolve({ killed: false, ms: Date.now() - t0 });
      else if (t0 === 0) resolve('not-started');
      else reject(new Error(`publisher exited ${code}: ${err}`));
    });
  });
}

/**
 * Other test runs on this machine recompile dist/ while we run, so a child
 * may load a half-written module and die before it starts; only that case
 * is retried.
 */
async function publishInChild(tree: string, stagings: string[], killAfterMs?: number): Promise<Run> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await publishOnce(tree, stagings, killAfterMs);
    if (r !== 'not-started') return r;
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error('the publisher never started (dist/ unusable?)');
}

const hashes = new Map<string, string>();
async function sha256(file: string): Promise<string> {
  const known = hashes.get(file);
  if (known) return known;
  const h = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  hashes.set(file, h);
  return h;
}

/** Every file a complete build promises is there with the right hash. */
async function assertComplete(tree: string, rel: string): Promise<void> {
  const dir = join(tree, rel);
  const record = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildRecord;
  for (const line of (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).trim().split('\n')) {
    const [hash, name] = line.split(/\s+\*?/);
    expect(await sha256(join(dir, name!)), `${rel}/${name}`).toBe(hash);
  }
  for (const a of record.artifacts) expect(await sha256(join(dir, a.name))).toBe(a.sha256);
}

/** The invariants a client relies on, whatever moment the publisher died at. */
async function assertConsistent(tree: string): Promise<string[]> {
  const listed: string[] = [];
  for (const name of ['index-system', 'index-user', 'index-system.7', 'index-user.7']) {
    const text = await readFile(join(tree, 'meta/1.0', name), 'utf8').catch(() => '');
    if (text === '') continue;
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) {
      const f = line.split(';');
      expect(f).toHaveLength(6);
      await assertComplete(tree, f[5]!.replace(/^\/|\/$/g, ''));
    }
  }
  const imagesText = await readFile(join(tree, 'streams/v1/images.json'), 'utf8').catch(() => '');
  if (imagesText !== '') {
    const images = JSON.parse(imagesText) as {
      products: Record<
        string,
        { versions: Record<string, { items: Record<string, { path: string; sha256: string }> }> }
      >;
    };
    JSON.parse(await readFile(join(tree, 'streams/v1/index.json'), 'utf8'));
    for (const p of Object.values(images.products)) {
      for (const [serial, v] of Object.entries(p.versions)) {
        listed.push(serial);
        for (const item of Object.values(v.items)) expect(await sha256(join(tree, item.path))).toBe(item.sha256);
      }
    }
  }
  // Visible build directories are always complete: the rename is the publication.
  const productDir = join(tree, 'images/kilntest/1/amd64/default');
  for (const s of await readdir(productDir).catch(() => [] as string[])) {
    if (!s.startsWith('.')) await assertComplete(tree, `images/kilntest/1/amd64/default/${s}`);
  }
  return listed;
}

describe('publishing is atomic', () => {
  let work: string;
  let base: { staging: string; record: BuildRecord };

  beforeAll(async () => {
    work = await tempDir('atomic');
    base = await makeBuild(work, { serial: '20250101_00:00' });
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('a publisher SIGKILLed at random points (20 kills or more) always leaves indexes that parse and name only complete builds', async () => {
    const tree = join(work, 'killed');
    const all = serials(61);
    const warm = await cloneBuild(work, base, all[0]!);
    const baseline = await publishInChild(tree, [warm.staging]);
    let killedMidway = 0;
    // Under load a publisher sometimes finishes before its kill: run until 20 were killed midway.
    for (const serial of all.slice(1)) {
      if (killedMidway >= 20) break;
      const b = await cloneBuild(work, base, serial);
      const run = await publishInChild(tree, [b.staging], Math.random() * baseline.ms * 0.9);
      if (run.killed) killedMidway++;
      await assertConsistent(tree);
    }
    expect(killedMidway).toBeGreaterThanOrEqual(20);
    // A later `kiln index` finds every build that made it and clears the leftovers.
    await regenerateIndexes(tree);
    const visible = (await readdir(join(tree, 'images/kilntest/1/amd64/default'))).filter((s) => !s.startsWith('.'));
    expect(await readdir(join(tree, 'images/kilntest/1/amd64/default'))).toEqual(visible);
    expect((await assertConsistent(tree)).sort()).toEqual(visible.sort());
    expect(visible).toContain(all[0]);
  });

  it('two publishers at once lose nothing', async () => {
    const tree = join(work, 'concurrent');
    const all = serials(10, Date.UTC(2026, 5, 1));
    const a: string[] = [];
    const b: string[] = [];
    for (const [i, s] of all.entries()) (i % 2 ? a : b).push((await cloneBuild(work, base, s)).staging);
    const [ra, rb] = await Promise.all([publishInChild(tree, a), publishInChild(tree, b)]);
    expect([ra.killed, rb.killed]).toEqual([false, false]);
    expect((await assertConsistent(tree)).sort()).toEqual(all);
    expect(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).toBe(
      `kilntest;1;amd64;default;${all[9]};/images/kilntest/1/amd64/default/${all[9]}/\n`,
    );
  });
});
