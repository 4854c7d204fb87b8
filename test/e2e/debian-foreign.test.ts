/**
 * Debian bookworm for a foreign architecture built on this amd64 host:
 * debootstrap --foreign from the host's mirror, the second stage and every
 * step inside kiln's container through qemu-user. Built once per test run
 * (sharedBuild) for every test file that needs it. arm64 runs with the
 * suite; armhf (about 20 more minutes under emulation on 2 cores) when
 * KILN_TEST_FOREIGN names it: `KILN_TEST_FOREIGN=arm64,armhf npx vitest run
 * test/e2e/debian-foreign.test.ts`.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elfMachines } from '../helpers/elf.js';
import { kiln, ROOT } from '../helpers/kiln.js';
import { LxcClient } from '../helpers/lxc-client.js';
import { serveTree } from '../helpers/serve.js';
import { sharedBuild, type SharedBuild } from '../helpers/shared-builds.js';

interface Foreign {
  arch: string;
  /** ELF e_machine of its executables. */
  machine: number;
  uname: string;
}
const ARCHES: readonly Foreign[] = [
  { arch: 'arm64', machine: 183, uname: 'aarch64' },
  { arch: 'armhf', machine: 40, uname: 'armv7l' },
];
const wanted = (process.env.KILN_TEST_FOREIGN ?? 'arm64').split(',');

describe.each(ARCHES.filter((a) => wanted.includes(a.arch)))('debian bookworm $arch on an amd64 host', (t) => {
  let build: SharedBuild;
  let tmp: string;
  let root: string;

  beforeAll(async () => {
    build = await sharedBuild(`debian-bookworm-${t.arch}`, path.join(ROOT, 'definitions/debian.yaml'), [
      '-o',
      'image.release=bookworm',
      '-o',
      `image.architecture=${t.arch}`,
    ]);
    tmp = await mkdtemp(path.join(os.tmpdir(), `kiln-debian-${t.arch}-`));
    root = path.join(tmp, 'root');
    await mkdir(root);
    const dir = path.join(build.out, `images/debian/bookworm/${t.arch}/default`);
    const [serial] = await readdir(dir);
    await execa('tar', ['-xJpf', path.join(dir, serial!, 'rootfs.tar.xz'), '-C', root]);
  }, 45 * 60_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('ran its second stage and package install inside the container', () => {
    // The second stage removes /debootstrap when it completes.
    expect(existsSync(path.join(root, 'debootstrap'))).toBe(false);
    expect(build.log).toContain('-> packages.install[0]');
    expect(build.log).not.toContain('packages.install[0] failed');
  });

  it('has only ELF files of its architecture and the installed packages', async () => {
    const machines = await elfMachines(root);
    expect([...machines.keys()], JSON.stringify([...machines].map(([m, f]) => [m, f[0]]))).toEqual([t.machine]);
    const status = await readFile(path.join(root, 'var/lib/dpkg/status'), 'utf8');
    // iproute2 comes from packages.sets[0], installed by apt inside the container.
    expect(status).toMatch(
      new RegExp(`Package: iproute2\nStatus: install ok installed\n(.+\n)*Architecture: ${t.arch}`),
    );
  });

  it('runs commands as its architecture through kiln run', async () => {
    const r = await kiln(['run', root, '--', 'sh', '-c', 'uname -m; dpkg --print-architecture']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([t.uname, t.arch]);
  });

  it('is listed in the LXC index and downloaded by lxc-create -a ARCH', async () => {
    const index = await readFile(path.join(build.out, 'meta/1.0/index-system'), 'utf8');
    expect(index).toMatch(new RegExp(`^debian;bookworm;${t.arch};default;`, 'm'));
    const served = await serveTree(build.out);
    try {
      const lxc = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
      const r = await lxc.createFromServer('arm', served.server, 'debian', 'bookworm', t.arch);
      expect(r.exitCode, r.all).toBe(0);
      const sh = await readFile(path.join(lxc.lxcPath, 'arm/rootfs/usr/bin/dash'));
      expect(sh.readUInt16LE(18)).toBe(t.machine);
    } finally {
      await served.stop();
    }
  }, 300_000);
});
