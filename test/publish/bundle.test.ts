/**
 * Bundles: `kiln build --catalog --only CELL --bundle` on one machine,
 * `kiln publish DIR BUNDLE...` on another. The publisher takes whatever a
 * CI engine hands it, so a tampered bundle, one whose names leave the tree
 * and one already published must each be dealt with alone, and a publisher
 * killed with SIGKILL must leave a tree clients can read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln, KILN_BIN, ROOT, resultEvent } from '../helpers/kiln.js';
import { serveTree } from '../helpers/serve.js';
import { rawTar } from '../source/archives.js';

const BUSYBOX = readFileSync(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8');

interface Outcome {
  bundle: string;
  status: 'published' | 'unchanged' | 'refused';
  reason?: string;
  serial?: string;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every build an index names is complete, with the hashes its SHA256SUMS says. */
function assertConsistent(tree: string): string[] {
  const named: string[] = [];
  const text = existsSync(path.join(tree, 'meta/1.0/index-system'))
    ? readFileSync(path.join(tree, 'meta/1.0/index-system'), 'utf8')
    : '';
  for (const line of text.split('\n').filter(Boolean)) {
    const rel = line.split(';')[5]!.replace(/^\/|\/$/g, '');
    named.push(rel);
    for (const l of readFileSync(path.join(tree, rel, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')) {
      const [hash, name] = l.split(/\s+\*?/);
      expect(sha256(path.join(tree, rel, name!)), `${rel}/${name}`).toBe(hash);
    }
  }
  const images = existsSync(path.join(tree, 'streams/v1/images.json'))
    ? (JSON.parse(readFileSync(path.join(tree, 'streams/v1/images.json'), 'utf8')) as {
        products: Record<
          string,
          { versions: Record<string, { items: Record<string, { path: string; sha256: string }> }> }
        >;
      })
    : { products: {} };
  for (const p of Object.values(images.products))
    for (const v of Object.values(p.versions))
      for (const item of Object.values(v.items)) expect(sha256(path.join(tree, item.path))).toBe(item.sha256);
  return named.sort();
}

describe('kiln build --bundle and kiln publish', () => {
  let tmp: string;
  const bundles: Record<string, string> = {};

  const publish = async (tree: string, files: string[]) => {
    const r = await kiln(['publish', tree, ...files, '--json']);
    // --json events go to stderr, one per line.
    const result = resultEvent<{ bundles: Outcome[] }>(r.all);
    return { exitCode: r.exitCode, all: r.all, outcomes: result?.bundles ?? [] };
  };
  const bundle = async (catalog: string, cell: string, serial: string, name: string): Promise<string> => {
    const out = path.join(tmp, 'bundles', `${name}.tar`);
    const r = await kiln([
      'build',
      '--catalog',
      catalog,
      '--only',
      cell,
      '--bundle',
      out,
      '--serial',
      serial,
      '--cache-dir',
      path.join(tmp, 'cache'),
      '--work-dir',
      path.join(tmp, 'work'),
    ]);
    expect(r.exitCode, r.all).toBe(0);
    return out;
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-bundle-'));
    await mkdir(path.join(tmp, 'work'));
    for (const d of ['alpha', 'beta', 'gamma'])
      await writeFile(path.join(tmp, `${d}.yaml`), BUSYBOX.replace('distribution: busybox', `distribution: ${d}`));
    const v1 = path.join(tmp, 'v1.yaml');
    await writeFile(
      v1,
      'keep: 3\nimages:\n- definition: alpha.yaml\n- definition: beta.yaml\n- definition: gamma.yaml\n',
    );
    // The same catalog a day later, with alpha's inputs changed.
    const v2 = path.join(tmp, 'v2.yaml');
    await writeFile(
      v2,
      'keep: 3\nimages:\n- definition: alpha.yaml\n  options: {image.description: "alpha, changed"}\n- definition: beta.yaml\n- definition: gamma.yaml\n',
    );
    bundles.alpha = await bundle(v1, 'alpha', '20260101_00:00', 'alpha');
    bundles.beta = await bundle(v1, 'beta', '20260101_00:00', 'beta');
    bundles.gamma = await bundle(v1, 'gamma', '20260101_00:00', 'gamma');
    bundles.alphaAgain = await bundle(v1, 'alpha', '20260101_00:05', 'alpha-again');
    bundles.alphaNew = await bundle(v2, 'alpha', '20260102_00:00', 'alpha-new');

    // beta with one byte of its rootfs changed (same size): only the sums can tell.
    const t = path.join(tmp, 'tamper');
    await mkdir(t);
    await execa('tar', ['-xf', bundles.beta, '-C', t]);
    const rootfs = path.join(t, 'build/rootfs.tar.xz');
    const bytes = await readFile(rootfs);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    await writeFile(rootfs, bytes);
    bundles.tampered = path.join(tmp, 'bundles', 'tampered.tar');
    await execa('tar', ['-cf', bundles.tampered, '-C', t, 'kiln-bundle.json', 'build', 'logs']);

    // gamma's manifest and build, plus a member that climbs out of the tree.
    const g = path.join(tmp, 'g');
    await mkdir(g);
    await execa('tar', ['-xf', bundles.gamma, '-C', g]);
    const members = [{ name: 'kiln-bundle.json', content: await readFile(path.join(g, 'kiln-bundle.json')) }];
    for (const f of await readdir(path.join(g, 'build')))
      members.push({ name: `build/${f}`, content: await readFile(path.join(g, 'build', f)) });
    bundles.escaping = path.join(tmp, 'bundles', 'escaping.tar');
    await writeFile(
      bundles.escaping,
      await rawTar([...members, { name: 'build/../../../../escaped-by-bundle', content: 'outside\n' }]),
    );
    bundles.symlinked = path.join(tmp, 'bundles', 'symlinked.tar');
    await writeFile(
      bundles.symlinked,
      await rawTar([
        members[0]!,
        { name: 'build', type: 'directory' },
        { name: 'build/build.json', type: 'symlink', linkname: '/etc/passwd' },
        ...members.slice(1).filter((m) => m.name !== 'build/build.json'),
      ]),
    );
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('writes a self-describing bundle: manifest, the build directory with SHA256SUMS and build.json, the log', async () => {
    const list = (await execa('tar', ['-tf', bundles.alpha!])).stdout.split('\n');
    expect(list).toEqual(
      expect.arrayContaining([
        'kiln-bundle.json',
        'build/SHA256SUMS',
        'build/build.json',
        'build/rootfs.tar.xz',
        'build/meta.tar.xz',
        'build/rootfs.squashfs',
        'logs/alpha_1.35_amd64_default.log',
        'logs/report.json',
      ]),
    );
    const manifest = JSON.parse((await execa('tar', ['-xOf', bundles.alpha!, 'kiln-bundle.json'])).stdout) as {
      format: string;
      cell: string;
      serial: string;
      inputDigest: string;
    };
    expect(manifest).toMatchObject({
      format: 'kiln-bundle/1',
      cell: 'alpha:1.35:amd64:default',
      serial: '20260101_00:00',
    });
    expect(manifest.inputDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('publishes the good bundles and refuses a tampered one and ones whose names escape, each alone and named', async () => {
    const tree = path.join(tmp, 'tree');
    const outside = path.join(path.dirname(tmp), 'escaped-by-bundle');
    const r = await publish(tree, [
      bundles.alpha!,
      bundles.tampered!,
      bundles.escaping!,
      bundles.symlinked!,
      bundles.gamma!,
    ]);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.outcomes.map((o) => [path.basename(o.bundle), o.status])).toEqual([
      ['alpha.tar', 'published'],
      ['tampered.tar', 'refused'],
      ['escaping.tar', 'refused'],
      ['symlinked.tar', 'refused'],
      ['gamma.tar', 'published'],
    ]);
    expect(r.outcomes[1]!.reason).toMatch(/build\/rootfs\.tar\.xz: sha256 [0-9a-f]+ does not match SHA256SUMS/);
    expect(r.outcomes[2]!.reason).toMatch(/escaped-by-bundle/);
    expect(r.outcomes[3]!.reason).toMatch(/build\.json/);
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(path.join(tree, 'escaped-by-bundle'))).toBe(false);
    expect(assertConsistent(tree)).toEqual([
      'images/alpha/1.35/amd64/default/20260101_00:00',
      'images/gamma/1.35/amd64/default/20260101_00:00',
    ]);
    // Nothing of the refused bundles stays behind in the tree's state dir.
    expect(await readdir(path.join(tree, '.kiln/incoming'))).toEqual([]);
    // The indexes were written once for the whole publish.
    expect(r.all.match(/indexes of /g)).toHaveLength(1);
  });

  it('publishing the same bundle twice, or the same inputs under a new serial, is a no-op', async () => {
    const tree = path.join(tmp, 'tree');
    const before = readFileSync(path.join(tree, 'streams/v1/images.json'), 'utf8');
    const again = await publish(tree, [bundles.alpha!]);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.outcomes[0]).toMatchObject({ status: 'unchanged', serial: '20260101_00:00' });
    expect(again.outcomes[0]!.reason).toContain('already published');
    const rebuilt = await publish(tree, [bundles.alphaAgain!]);
    expect(rebuilt.exitCode, rebuilt.all).toBe(0);
    expect(rebuilt.outcomes[0]).toMatchObject({ status: 'unchanged', serial: '20260101_00:00' });
    expect(rebuilt.outcomes[0]!.reason).toContain('same inputs as the published build 20260101_00:00');
    expect(await readdir(path.join(tree, 'images/alpha/1.35/amd64/default'))).toEqual(['20260101_00:00']);
    expect(readFileSync(path.join(tree, 'streams/v1/images.json'), 'utf8')).toBe(before);
  });

  it('two publishes at once into one tree serialize on its lock: both land, the indexes name both', async () => {
    const tree = path.join(tmp, 'tree-concurrent');
    const [a, b] = await Promise.all([publish(tree, [bundles.alpha!]), publish(tree, [bundles.beta!, bundles.gamma!])]);
    expect([a.exitCode, b.exitCode], a.all + b.all).toEqual([0, 0]);
    expect([...a.outcomes, ...b.outcomes].map((o) => o.status)).toEqual(['published', 'published', 'published']);
    expect(assertConsistent(tree)).toEqual([
      'images/alpha/1.35/amd64/default/20260101_00:00',
      'images/beta/1.35/amd64/default/20260101_00:00',
      'images/gamma/1.35/amd64/default/20260101_00:00',
    ]);
  });

  it('refuses a stale bundle: its inputs are older than what is published', async () => {
    const tree = path.join(tmp, 'tree');
    const newer = await publish(tree, [bundles.alphaNew!]);
    expect(newer.outcomes[0]?.status, newer.all).toBe('published');
    const stale = await publish(path.join(tmp, 'tree-stale'), [bundles.alphaNew!]);
    expect(stale.exitCode).toBe(0);
    const r = await publish(path.join(tmp, 'tree-stale'), [bundles.alpha!, bundles.beta!]);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.outcomes.map((o) => o.status)).toEqual(['refused', 'published']);
    expect(r.outcomes[0]!.reason).toMatch(
      /^stale: its inputs \(serial 20260101_00:00, input digest [0-9a-f]{12}\) are older than the published build 20260102_00:00/,
    );
    expect(await readdir(path.join(tmp, 'tree-stale/images/alpha/1.35/amd64/default'))).toEqual(['20260102_00:00']);
  });

  it('kiln plan --matrix --against judges skips against the tree read over HTTPS, as against the directory', async () => {
    const tree = path.join(tmp, 'tree');
    const served = await serveTree(tree);
    try {
      const plan = async (against: string[], catalog: string) => {
        const r = await kiln(['plan', '--catalog', catalog, '--matrix', '--json', ...against]);
        expect(r.exitCode, r.all).toBe(0);
        return (
          JSON.parse(r.stdout) as Array<{ id: string; wouldSkip: boolean; published: string | null; changes: string[] }>
        ).map((x) => [x.id, x.wouldSkip, x.published, x.changes.join('; ')]);
      };
      const url = ['--against', `https://${served.server}/`, '--ca', served.ca];
      const overHttps = await plan(url, path.join(tmp, 'v2.yaml'));
      expect(overHttps).toEqual([
        ['alpha:1.35:amd64:default', true, '20260102_00:00', ''],
        ['beta:1.35:amd64:default', false, null, 'nothing published yet'],
        ['gamma:1.35:amd64:default', true, '20260101_00:00', ''],
      ]);
      expect(await plan(['--against', tree], path.join(tmp, 'v2.yaml'))).toEqual(overHttps);
      // The old catalog: alpha's inputs differ from the published build's.
      const old = await plan(url, path.join(tmp, 'v1.yaml'));
      expect(old[0]?.[1]).toBe(false);
      expect(old[0]?.[3]).toMatch(/plan/);
    } finally {
      await served.stop();
    }
  });

  it('a publisher killed with SIGKILL at random points leaves a valid tree; the next publish completes it', async () => {
    const tree = path.join(tmp, 'tree-kill');
    const set = [bundles.alpha!, bundles.beta!, bundles.gamma!];
    const timed = path.join(tmp, 'tree-timing');
    const t0 = Date.now();
    expect((await publish(timed, set)).exitCode).toBe(0);
    const baseline = Date.now() - t0;
    let killedMidway = 0;
    for (let i = 0; i < 12 && killedMidway < 6; i++) {
      await rm(tree, { recursive: true, force: true });
      const child = execa('node', [KILN_BIN, 'publish', tree, ...set], { reject: false });
      await new Promise((r) => setTimeout(r, 150 + Math.random() * baseline * 0.8));
      child.kill('SIGKILL');
      const res = await child;
      if (res.signal === 'SIGKILL') killedMidway++;
      assertConsistent(tree);
      // The next publisher clears what the killed one left and publishes the rest.
      const after = await publish(tree, set);
      expect(after.exitCode, after.all).toBe(0);
      expect(assertConsistent(tree)).toHaveLength(3);
      expect(await readdir(path.join(tree, '.kiln/incoming'))).toEqual([]);
      for (const d of ['alpha', 'beta', 'gamma'])
        expect(await readdir(path.join(tree, `images/${d}/1.35/amd64/default`))).toEqual(['20260101_00:00']);
    }
    expect(killedMidway).toBeGreaterThanOrEqual(3);
  });
});
