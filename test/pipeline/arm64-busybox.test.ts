/**
 * The busybox definition for arm64 on this amd64 host: Debian's
 * busybox-static:arm64 as its source, its action run through qemu-user
 * inside kiln's container. Every ELF file of the root is aarch64, `kiln
 * run` in it says `aarch64`, two builds are byte-identical, the LXC index
 * lists it, `plan --matrix` marks the cell emulated, and the host's
 * binfmt_misc is left as it was. armhf, a second foreign architecture,
 * builds from busybox-static:armhf the same way.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elfMachines } from '../helpers/elf.js';
import { kiln, ROOT } from '../helpers/kiln.js';

const SERIAL = '20260101_00:00';
const ENV = { SOURCE_DATE_EPOCH: '1767225600' };

/** Builds the busybox definition for `arch` into `out`; returns how long it took in ms. */
async function buildBusybox(arch: string, out: string, cache: string): Promise<number> {
  const started = Date.now();
  const r = await kiln(
    [
      'build',
      path.join(ROOT, 'definitions/busybox.yaml'),
      '-o',
      `image.architecture=${arch}`,
      '--serial',
      SERIAL,
      '--out',
      out,
      '--cache-dir',
      cache,
    ],
    { env: ENV, timeout: 300_000 },
  );
  expect(r.exitCode, r.all).toBe(0);
  return Date.now() - started;
}

describe('busybox for arm64 on an amd64 host', () => {
  let tmp: string;
  const outs: string[] = [];
  const build = (out: string): Promise<number> => buildBusybox('arm64', out, path.join(tmp, 'cache'));
  const buildDir = (out: string): string => path.join(out, 'images/busybox/1.35/arm64/default', SERIAL);

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-arm64-busybox-'));
    for (const n of ['a', 'b']) outs.push(path.join(tmp, n));
    const times = [await build(outs[0]!), await build(outs[1]!)];
    process.stderr.write(`arm64 busybox builds: ${times.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}\n`);
    // "in seconds": the second build, with the package cached.
    expect(times[1]).toBeLessThan(60_000);
  }, 600_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('gives identical artifacts twice', async () => {
    const [a, b] = await Promise.all(outs.map((o) => readFile(path.join(buildDir(o), 'SHA256SUMS'), 'utf8')));
    expect(a).toContain('rootfs.tar.xz');
    expect(a).toBe(b);
  });

  it('has only aarch64 ELF files, and its action ran in the container', async () => {
    const root = path.join(tmp, 'root');
    await mkdir(root);
    await execa('tar', ['-xJpf', path.join(buildDir(outs[0]!), 'rootfs.tar.xz'), '-C', root]);
    const machines = await elfMachines(root);
    expect([...machines.keys()]).toEqual([183]);
    expect(machines.get(183)).toContain(path.join(root, 'bin/busybox'));
    expect(await readFile(path.join(root, 'etc/kiln-marker'), 'utf8')).toContain('inside its build container');

    const r = await kiln(['run', root, '--', 'uname', '-m']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim()).toBe('aarch64');
    // The registration is the container's own, read-only, and gone afterwards.
    const ro = await kiln(['run', root, '--', 'sh', '-c', 'echo -1 > /proc/sys/fs/binfmt_misc/kiln-aarch64']);
    expect(ro.exitCode).not.toBe(0);
    expect(ro.all).toMatch(/Read-only/);
    expect(existsSync('/proc/sys/fs/binfmt_misc/kiln-aarch64')).toBe(false);
  });

  it('is listed in the LXC index as arm64', async () => {
    const index = await readFile(path.join(outs[0]!, 'meta/1.0/index-system'), 'utf8');
    expect(index).toContain(`busybox;1.35;arm64;default;${SERIAL};`);
  });

  it('is marked emulated by plan --matrix, amd64 is not', async () => {
    const catalog = path.join(tmp, 'kiln.yaml');
    await writeFile(
      catalog,
      `images:\n- definition: ${path.join(ROOT, 'definitions/busybox.yaml')}\n  architectures: [amd64, arm64]\n`,
    );
    const r = await kiln(['plan', '--catalog', catalog, '--matrix', '--json', '--out', path.join(tmp, 'm')]);
    expect(r.exitCode, r.all).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ id: string; arch: string; emulated: boolean }>;
    expect(rows.map((x) => [x.arch, x.emulated])).toEqual([
      ['amd64', false],
      ['arm64', true],
    ]);
  });
});

describe('busybox for armhf on an amd64 host', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-armhf-busybox-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('builds, has only 32-bit ARM ELF files, runs armv7l code and is indexed as armhf', async () => {
    const out = path.join(tmp, 'out');
    await buildBusybox('armhf', out, path.join(tmp, 'cache'));
    const root = path.join(tmp, 'root');
    await mkdir(root);
    const build = path.join(out, 'images/busybox/1.35/armhf/default', SERIAL);
    await execa('tar', ['-xJpf', path.join(build, 'rootfs.tar.xz'), '-C', root]);
    expect([...(await elfMachines(root)).keys()]).toEqual([40]);
    const uname = await kiln(['run', root, '--', 'uname', '-m']);
    expect(uname.exitCode, uname.all).toBe(0);
    expect(uname.stdout.trim()).toBe('armv7l');
    expect(await readFile(path.join(out, 'meta/1.0/index-system'), 'utf8')).toContain(
      `busybox;1.35;armhf;default;${SERIAL};`,
    );
    const streams = JSON.parse(await readFile(path.join(out, 'streams/v1/images.json'), 'utf8')) as {
      products: Record<string, { arch: string }>;
    };
    expect(Object.values(streams.products).map((p) => p.arch)).toEqual(['armhf']);
  });
});
