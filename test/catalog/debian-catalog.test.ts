import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { kiln } from '../helpers/kiln.js';
import { serveTree } from '../helpers/serve.js';
import {
  SHARED_CATALOG_SERIAL,
  sharedDebianCatalog,
  sharedRoot,
  type SharedCatalogRun,
} from '../helpers/shared-builds.js';

const CELLS = [
  'busybox:1.35:amd64:default',
  'debian:bookworm:amd64:default',
  'debian:bookworm:amd64:cloud',
  'debian:trixie:amd64:default',
  'debian:trixie:amd64:cloud',
];

/**
 * kiln's own catalog shape, built for real: busybox and Debian bookworm and
 * trixie (default and cloud) with `--jobs 2 --test` (shared with the Debian
 * end-to-end test, made once per run).
 */
describe('a catalog of busybox and Debian built with --jobs 2 --test', () => {
  let run: SharedCatalogRun;
  beforeAll(async () => {
    run = await sharedDebianCatalog();
    // The shared catalog run (several Debian builds) may be made here: minutes on 2 cores.
  }, 60 * 60_000);

  it('published every image after it booted under the real LXC client', async () => {
    expect(run.report.builds.map((b) => [b.id, b.status, b.reason ?? ''])).toEqual(
      CELLS.map((id) => [id, 'published', '']),
    );
    for (const id of CELLS.slice(1)) expect(await run.logOf(id)).toMatch(/lxc-attach .* -- true\n/);
  });

  it('every image is listed by the LXC client', async () => {
    const served = await serveTree(run.out);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-list-'));
    try {
      const wgetrc = path.join(dir, 'wgetrc');
      await writeFile(wgetrc, `ca_certificate = ${served.ca}\n`);
      const listed: string[] = [];
      for (const variant of ['default', 'cloud']) {
        // lxc 5.0.2 exits 1 after a successful --list: judge by what it prints.
        const r = await execa(
          'lxc-create',
          ['-n', 'kiln-list', '-t', 'download', '--', '--server', served.server, '--list', '--variant', variant],
          {
            env: { WGETRC: wgetrc, LXC_CACHE_PATH: path.join(dir, 'cache') },
            reject: false,
            all: true,
          },
        );
        for (const line of r.stdout.split('\n')) {
          const f = line.trim().split(/\s+/);
          if (f.length === 5 && f[4] === SHARED_CATALOG_SERIAL) listed.push(`${f[0]}:${f[1]}:${f[2]}:${f[3]}`);
        }
      }
      expect(listed.sort()).toEqual([...CELLS].sort());
    } finally {
      await served.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the cloud image switches cloud-init off in rootfs.tar.xz only: rootfs.squashfs keeps it for the NoCloud seed', async () => {
    const dir = path.join(run.out, 'images/debian/bookworm/amd64/cloud', SHARED_CATALOG_SERIAL);
    const inTar = await execa('tar', ['-tJf', path.join(dir, 'rootfs.tar.xz'), './etc/cloud/cloud-init.disabled'], {
      reject: false,
    });
    expect(inTar.stdout).toBe('./etc/cloud/cloud-init.disabled');
    const inSquashfs = (await execa('rdsquashfs', ['-l', '/etc/cloud', path.join(dir, 'rootfs.squashfs')])).stdout;
    expect(inSquashfs).toContain('cloud.cfg');
    expect(inSquashfs).not.toContain('cloud-init.disabled');
    const metadata = (await execa('tar', ['-xOJf', path.join(dir, 'incus.tar.xz'), 'metadata.yaml'])).stdout;
    expect(metadata).toContain('/var/lib/cloud/seed/nocloud-net/user-data:');
  });

  it('a second run with nothing changed reports every build unchanged and publishes no new serial', async () => {
    const r = await kiln(
      [
        'build',
        '--catalog',
        run.catalog,
        '--jobs',
        '2',
        '--test',
        '--out',
        run.out,
        '--serial',
        '20260101_00:01',
        '--cache-dir',
        path.join(sharedRoot(), 'cache'),
      ],
      { timeout: 600_000 },
    );
    expect(r.exitCode, r.all).toBe(0);
    const latest = JSON.parse(await readFile(path.join(run.out, 'reports/latest.json'), 'utf8')) as { run: string };
    const report = JSON.parse(readFileSync(path.join(run.out, 'reports', latest.run, 'report.json'), 'utf8')) as {
      builds: Array<{ id: string; status: string }>;
    };
    expect(report.builds.map((b) => [b.id, b.status])).toEqual(CELLS.map((id) => [id, 'unchanged']));
    expect(existsSync(path.join(run.out, 'images/debian/bookworm/amd64/default/20260101_00:01'))).toBe(false);
  }, 600_000);
});
