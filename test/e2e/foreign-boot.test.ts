/**
 * Foreign images with the real LXC client. kiln's own steps need no host
 * binfmt_misc registration, but `lxc-start` executes the image's init
 * directly, so booting an arm64 image on this amd64 host needs one. Without
 * it, the catalog's boot test is refused before any download, saying what
 * is missing and how to add it; with it, the gate boots the image and a
 * user's `lxc-attach -- uname -m` prints aarch64.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, ROOT } from '../helpers/kiln.js';
import { latestReport } from '../helpers/catalog-report.js';
import { LxcClient } from '../helpers/lxc-client.js';
import { serveTree } from '../helpers/serve.js';
import { emulatorFor } from '../../src/runtime/emulation.js';
import { hostRegistration } from '../../src/runtime/host-binfmt.js';

const BINFMT = '/proc/sys/fs/binfmt_misc';
const ENTRY = 'kiln-test-aarch64';
const BUSYBOX = path.join(ROOT, 'definitions/busybox.yaml');
const SERIAL = '20260101_00:00';

describe('an arm64 image and the host binfmt_misc registration lxc-start needs', () => {
  let tmp: string;
  let catalog: string;
  let mountedHere = false;
  let registeredHere = false;
  const runCatalog = (out: string) =>
    kiln(
      [
        'build',
        '--catalog',
        catalog,
        '--out',
        out,
        '--serial',
        SERIAL,
        '--test',
        '--cache-dir',
        path.join(tmp, 'cache'),
      ],
      { env: { SOURCE_DATE_EPOCH: '1767225600' }, timeout: 600_000 },
    );

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-arm64-boot-'));
    catalog = path.join(tmp, 'kiln.yaml');
    await writeFile(catalog, `images:\n- definition: ${BUSYBOX}\n  architectures: [arm64]\n`);
  });
  afterAll(async () => {
    // The host is left as this file found it.
    if (registeredHere) await writeFile(path.join(BINFMT, ENTRY), '-1');
    if (mountedHere) await execa('umount', [BINFMT]);
    await rm(tmp, { recursive: true, force: true });
  });

  it('without one, the boot test is refused before any download, saying how to add it', async (ctx) => {
    if (await hostRegistration('arm64')) ctx.skip(); // this host already runs arm64 code natively through binfmt
    const out = path.join(tmp, 'refused');
    const r = await runCatalog(out);
    expect(r.exitCode).toBe(1);
    const cell = (await latestReport(out)).builds[0];
    expect(cell?.status).toBe('failed');
    expect(cell?.reason).toMatch(/cannot boot-test: the host has no binfmt_misc registration for aarch64/);
    expect(cell?.reason).toContain('update-binfmts --enable qemu-aarch64');
    expect(existsSync(path.join(out, 'images'))).toBe(false);
    expect(existsSync(path.join(tmp, 'cache'))).toBe(false);
  });

  it('with one, the gate boots it and lxc-attach -- uname -m prints aarch64', async () => {
    if (!(await hostRegistration('arm64'))) {
      if (!existsSync(path.join(BINFMT, 'register'))) {
        await execa('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
        mountedHere = true;
      }
      const line = emulatorFor('arm64')!.registration.replace(/^:kiln-[^:]+:/, `:${ENTRY}:`);
      await writeFile(path.join(BINFMT, 'register'), line);
      registeredHere = true;
    }
    expect(await hostRegistration('arm64')).toBeDefined();

    const out = path.join(tmp, 'out');
    const r = await runCatalog(out);
    expect(r.exitCode, r.all).toBe(0);
    expect((await latestReport(out)).builds.map((b) => b.status)).toEqual(['published']);

    const served = await serveTree(out);
    const lxc = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
    try {
      const created = await lxc.createFromServer('arm', served.server, 'busybox', '1.35', 'arm64');
      expect(created.exitCode, created.all).toBe(0);
      expect((await lxc.start('arm')).exitCode).toBe(0);
      expect((await lxc.wait('arm', 'RUNNING', 30)).exitCode).toBe(0);
      let uname = await lxc.attach('arm', ['uname', '-m']);
      for (let i = 0; i < 20 && uname.exitCode !== 0; i++) {
        await new Promise((res) => setTimeout(res, 500));
        uname = await lxc.attach('arm', ['uname', '-m']);
      }
      expect(uname.exitCode, uname.all).toBe(0);
      expect(uname.stdout.trim()).toBe('aarch64');
    } finally {
      await lxc.destroy('arm');
      await served.stop();
    }
  });
});
