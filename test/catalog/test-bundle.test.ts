/**
 * `kiln test BUNDLE`: the boot-test gate on a worker, before a bundle is
 * handed on to the publishing job. A bundle that boots passes; one whose
 * image does not boot is quarantined with its logs, as a catalog run does;
 * a tampered bundle is refused before anything runs; nothing is left in
 * the temp directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln, ROOT, resultEvent } from '../helpers/kiln.js';
import { kilnTempDirs, mountPoints } from '../helpers/host-state.js';

const BUSYBOX = readFileSync(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8');
const SERIAL = '20260101_00:00';

interface Result {
  bundle: string;
  status: 'passed' | 'quarantined' | 'refused';
  reason?: string;
  quarantine?: string;
}

describe('kiln test BUNDLE', () => {
  let tmp: string;
  let temp: string;
  const bundles: Record<string, string> = {};

  const test = async (files: string[]) => {
    const r = await kiln(
      ['test', ...files, '--timeout', '20', '--quarantine', path.join(tmp, 'quarantine'), '--json'],
      {
        env: { TMPDIR: temp },
      },
    );
    return { exitCode: r.exitCode, all: r.all, results: resultEvent<{ bundles: Result[] }>(r.all)?.bundles ?? [] };
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-test-bundle-'));
    temp = path.join(tmp, 'tmp');
    await mkdir(temp);
    await writeFile(path.join(tmp, 'good.yaml'), BUSYBOX.replace('distribution: busybox', 'distribution: good'));
    // An action that removes init: the image builds, and does not boot.
    await writeFile(
      path.join(tmp, 'broken.yaml'),
      BUSYBOX.replace('distribution: busybox', 'distribution: broken').replace(
        '\nactions:\n',
        '\nactions:\n- trigger: post-files\n  action: |-\n    #!/bin/sh\n    rm /sbin/init\n',
      ),
    );
    const catalog = path.join(tmp, 'kiln.yaml');
    await writeFile(catalog, 'images:\n- definition: good.yaml\n- definition: broken.yaml\n');
    for (const name of ['good', 'broken']) {
      bundles[name] = path.join(tmp, `${name}.tar`);
      const r = await kiln([
        'build',
        '--catalog',
        catalog,
        '--only',
        name,
        '--bundle',
        bundles[name],
        '--serial',
        SERIAL,
        '--cache-dir',
        path.join(tmp, 'cache'),
      ]);
      expect(r.exitCode, r.all).toBe(0);
    }
    // good's rootfs with one byte flipped: only the sums can tell.
    const t = path.join(tmp, 'tamper');
    await mkdir(t);
    await execa('tar', ['-xf', bundles.good!, '-C', t]);
    const rootfs = path.join(t, 'build/rootfs.tar.xz');
    const bytes = await readFile(rootfs);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    await writeFile(rootfs, bytes);
    bundles.tampered = path.join(tmp, 'tampered.tar');
    await execa('tar', ['-cf', bundles.tampered, '-C', t, 'kiln-bundle.json', 'build', 'logs']);
  }, 300_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('passes a bundle whose image boots with the real LXC client', async () => {
    const mounts = mountPoints();
    const r = await test([bundles.good!]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.results.map((x) => x.status)).toEqual(['passed']);
    expect(r.all).toContain('boot-testing good:1.35:amd64:default');
    expect(kilnTempDirs(temp)).toEqual([]);
    expect(mountPoints()).toEqual(mounts);
  });

  it('quarantines a bundle whose image does not boot, with its logs, and fails', async () => {
    const r = await test([bundles.good!, bundles.broken!]);
    expect(r.exitCode).toBe(1);
    expect(r.results.map((x) => x.status)).toEqual(['passed', 'quarantined']);
    const q = r.results[1]!.quarantine!;
    expect(q).toBe(path.join(tmp, 'quarantine/broken_1.35_amd64_default/20260101_0000'));
    expect(existsSync(path.join(q, 'rootfs.tar.xz'))).toBe(true);
    // The gate's own log, and the build's log the bundle carried.
    expect(await readFile(path.join(q, 'boot-test.log'), 'utf8')).toContain('lxc-start');
    expect(existsSync(path.join(q, 'report.json'))).toBe(true);
    expect(kilnTempDirs(temp)).toEqual([]);
  });

  it('refuses a tampered bundle before booting anything, naming the file', async () => {
    const r = await test([bundles.tampered!]);
    expect(r.exitCode).toBe(1);
    expect(r.results[0]?.status).toBe('refused');
    expect(r.results[0]?.reason).toContain('rootfs.tar.xz');
    expect(r.all).not.toContain('boot-testing');
    expect(kilnTempDirs(temp)).toEqual([]);
  });
});
