/**
 * Debian bookworm for arm64 built on this amd64 host: debootstrap --foreign
 * from the host's mirror, the second stage and every step inside kiln's
 * container through qemu-user. Built once per test run (sharedBuild) for
 * every test file that needs it.
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

describe('debian bookworm arm64 on an amd64 host', () => {
  let build: SharedBuild;
  let tmp: string;
  let root: string;

  beforeAll(async () => {
    build = await sharedBuild('debian-bookworm-arm64', path.join(ROOT, 'definitions/debian.yaml'), [
      '-o',
      'image.release=bookworm',
      '-o',
      'image.architecture=arm64',
    ]);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-debian-arm64-'));
    root = path.join(tmp, 'root');
    await mkdir(root);
    const dir = path.join(build.out, 'images/debian/bookworm/arm64/default');
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

  it('has only aarch64 ELF files and the installed packages', async () => {
    const machines = await elfMachines(root);
    expect([...machines.keys()], JSON.stringify([...machines].map(([m, f]) => [m, f[0]]))).toEqual([183]);
    const status = await readFile(path.join(root, 'var/lib/dpkg/status'), 'utf8');
    // iproute2 comes from packages.sets[0], installed by apt inside the container.
    expect(status).toMatch(/Package: iproute2\nStatus: install ok installed\n(.+\n)*Architecture: arm64/);
  });

  it('runs commands as aarch64 through kiln run', async () => {
    const r = await kiln(['run', root, '--', 'sh', '-c', 'uname -m; dpkg --print-architecture']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['aarch64', 'arm64']);
  });

  it('is listed in the LXC index and downloaded by lxc-create -a arm64', async () => {
    const index = await readFile(path.join(build.out, 'meta/1.0/index-system'), 'utf8');
    expect(index).toMatch(/^debian;bookworm;arm64;default;/m);
    const served = await serveTree(build.out);
    try {
      const lxc = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
      const r = await lxc.createFromServer('arm', served.server, 'debian', 'bookworm', 'arm64');
      expect(r.exitCode, r.all).toBe(0);
      const sh = await readFile(path.join(lxc.lxcPath, 'arm/rootfs/usr/bin/dash'));
      expect(sh.readUInt16LE(18)).toBe(183);
    } finally {
      await served.stop();
    }
  }, 300_000);
});
