/**
 * The lxc-ci corpus Alpine definition, unchanged, built end to end from a
 * fixture Alpine mirror: `kiln build` resolves 3.21 to the newest 3.21.Z on
 * the mirror, verifies it against the test key given as `source.keys.0`,
 * runs the definition's package steps (against an apk stand-in: no Alpine
 * packages exist offline) and actions, publishes; `kiln serve` serves it,
 * LXC's own download template installs it and lxc-start boots busybox init.
 * The minirootfs is busybox laid out as Alpine's (alpine-release, apk
 * repositories, /sbin/init, and the OpenRC files the definition's actions
 * edit, which alpine-base would bring).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixtureServer } from '../fixtures/http-server.js';
import { kiln } from '../helpers/kiln.js';
import { kilnTempDirs } from '../helpers/host-state.js';
import { LxcClient } from '../helpers/lxc-client.js';
import { serveTree, type ServedTree } from '../helpers/serve.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { startMirror } from '../downloaders/fixtures.js';
import { alpineMirror } from '../downloaders/mirrors/alpine.js';

const DEFINITION = fileURLToPath(new URL('../corpus/lxc-ci/images/alpine.yaml', import.meta.url));

/** What alpine-base would install and the definition's container actions edit. */
const OPENRC_FILES: Record<string, string> = {
  'etc/rc.conf': '# Global OpenRC configuration settings\n#rc_sys=""\n',
  'etc/init.d/localmount': '#!/sbin/openrc-run\n# keyword -docker -lxc\n',
  'sbin/openrc': '#!/bin/sh\necho "openrc $*" >> /run/openrc-stub.log\nexit 0\n',
  'etc/runlevels/boot/.keep': '',
  'etc/runlevels/default/.keep': '',
  'etc/runlevels/sysinit/.keep': '',
  ...Object.fromEntries(
    ['bootmisc', 'syslog', 'devfs', 'networking', 'crond'].map((s) => [`etc/init.d/${s}`, '#!/sbin/openrc-run\n']),
  ),
};

describe('Alpine from the lxc-ci corpus definition, built from a fixture mirror, installed by the LXC client', () => {
  let tmp: string;
  let out: string;
  let key: TestKey;
  let mirror: FixtureServer;
  let served: ServedTree | undefined;
  let build: Awaited<ReturnType<typeof kiln>>;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-e2e-alpine-'));
    out = path.join(tmp, 'out');
    key = makeTestKey('Alpine E2E');
    mirror = await startMirror(
      alpineMirror(key, {
        releases: { '3.21': ['3.21.2', '3.21.3'] },
        arches: ['x86_64'],
        extraFiles: OPENRC_FILES,
        applets: 'all',
      }).tree,
    );
    build = await kiln(
      [
        'build',
        DEFINITION,
        '-o',
        'image.release=3.21',
        '-o',
        'image.variant=default',
        '-o',
        'image.architecture=amd64',
        '-o',
        `source.url=${mirror.url('/alpine/')}`,
        '-o',
        `source.keys.0=${key.armored}`,
        '--out',
        out,
        '--cache-dir',
        path.join(tmp, 'cache'),
        '--work-dir',
        path.join(tmp, 'work'),
        '--compression',
        'xz:0',
      ],
      { timeout: 300_000 },
    );
  }, 360_000);

  afterAll(async () => {
    await served?.stop();
    await mirror?.close();
    key?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('builds and publishes, recording the release "3.21" resolved to and its signature', async () => {
    expect(build.exitCode, build.all).toBe(0);
    const index = await readFile(path.join(out, 'meta/1.0/index-system'), 'utf8');
    const [dist, release, arch, variant, , dir] = index.split('\n')[0]!.split(';');
    expect([dist, release, arch, variant]).toEqual(['alpinelinux', '3.21', 'amd64', 'default']);
    const record = JSON.parse(await readFile(path.join(out, dir!, 'build.json'), 'utf8')) as {
      source?: { resolved?: Record<string, string>; inputs?: Array<{ url: string; verifiedBy: string }> };
    };
    const url = mirror.url('/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.3-x86_64.tar.gz');
    expect(JSON.stringify(record)).toContain(url);
    expect(JSON.stringify(record)).toContain(`gpg:${key.fingerprint}`);
    expect(kilnTempDirs(path.join(tmp, 'work'))).toEqual([]);
  });

  it('lxc-create -t download installs it from kiln serve and lxc-start boots it', async () => {
    expect(build.exitCode, build.all).toBe(0);
    served = await serveTree(out);
    const client = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
    const name = `kiln-alpine-${process.pid}`;
    try {
      const created = await client.createFromServer(name, served.server, 'alpinelinux', '3.21', 'amd64');
      expect(created.exitCode, created.all).toBe(0);
      expect(created.all).toContain('You just created an Alpinelinux 3.21');
      const started = await client.start(name);
      expect(started.exitCode, started.all).toBe(0);
      expect((await client.wait(name, 'RUNNING', 30)).exitCode).toBe(0);

      expect((await client.attach(name, ['cat', '/etc/alpine-release'])).stdout.trim()).toBe('3.21.3');
      expect((await client.attach(name, ['hostname'])).stdout.trim()).toBe(name);
      // The definition's container action ran in the build: LXC rc_sys and enabled services.
      expect((await client.attach(name, ['grep', '^rc_sys=', '/etc/rc.conf'])).stdout.trim()).toBe('rc_sys="lxc"');
      expect((await client.attach(name, ['readlink', '/etc/runlevels/default/networking'])).stdout.trim()).toBe(
        '/etc/init.d/networking',
      );
      // The package steps reached apk as the definition says.
      const apk = await client.attach(name, ['cat', '/var/log/apk-stub.log']);
      expect(apk.stdout.split('\n')).toEqual([
        'apk --no-cache update',
        'apk --no-cache upgrade',
        'apk --no-cache add alpine-base logrotate doas',
      ]);
      // busybox init ran the sysinit line of the generated inittab.
      expect((await client.attach(name, ['cat', '/run/openrc-stub.log'])).stdout).toContain('openrc sysinit');
    } finally {
      await client.destroy(name);
    }
    expect(existsSync(path.join(client.lxcPath, name))).toBe(false);
  });
});
