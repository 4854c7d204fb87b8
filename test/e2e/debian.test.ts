import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LxcClient } from '../helpers/lxc-client.js';
import { SHARED_CATALOG_SERIAL, sharedDebianCatalog } from '../helpers/shared-builds.js';
import { serveTree, type ServedTree } from '../helpers/serve.js';

/**
 * The real thing: definitions/debian.yaml for bookworm (amd64, default),
 * built by the shared catalog run (`kiln build --catalog`: debootstrap from
 * the host's mirror, customization in kiln's build containers), served by
 * `kiln serve`, installed by LXC's own download template and booted with
 * systemd.
 */
describe('Debian bookworm from definitions/debian.yaml boots under LXC', () => {
  let buildLog: string;
  let outDir: string;
  let tmp: string;
  let served: ServedTree | undefined;
  let client: LxcClient;
  const name = `kiln-debian-${process.pid}`;

  beforeAll(async () => {
    const run = await sharedDebianCatalog();
    outDir = run.out;
    buildLog = await run.logOf('debian:bookworm:amd64:default');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-e2e-debian-'));
    served = await serveTree(run.out);
    client = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
    const created = await client.createFromServer(name, served.server, 'debian', 'bookworm', 'amd64', 'default');
    if (created.exitCode !== 0) throw new Error(`lxc-create failed:\n${created.all}`);
    const started = await client.start(name);
    if (started.exitCode !== 0) throw new Error(`lxc-start failed:\n${started.all}`);
    if ((await client.wait(name, 'RUNNING', 60)).exitCode !== 0) throw new Error('the container did not reach RUNNING');
    // The shared catalog run (several Debian builds) may be made here: minutes on 2 cores.
  }, 60 * 60_000);

  afterAll(async () => {
    if (client) await client.destroy(name);
    await served?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('every step of the build shows up by name in the build log', () => {
    for (const step of [
      'policy-rc.d:install',
      'post-unpack[0]',
      'packages.refresh',
      'packages.update',
      'post-update[0]',
      'packages.install[0]',
      'packages.clean',
      'post-packages[0]',
      'policy-rc.d:remove',
      'files[0].hostname',
      'lxc-systemd-generator',
      'post-files[0]',
    ]) {
      expect(buildLog, step).toContain(step);
    }
  });

  it('systemd is pid 1 and the system reaches running (degraded is reported with its failed units)', async () => {
    const comm = await client.attach(name, ['cat', '/proc/1/comm']);
    expect(comm.stdout.trim()).toBe('systemd');
    // Right after lxc-start systemd may not accept connections yet: ask again until it answers.
    let state = '';
    let last = '';
    for (const deadline = Date.now() + 150_000; Date.now() < deadline;) {
      const r = await client.attach(name, ['timeout', '120', 'systemctl', 'is-system-running', '--wait']);
      state = r.stdout.trim();
      last = r.all ?? '';
      if (state !== '' && state !== 'initializing' && state !== 'starting') break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    const failed = await client.attach(name, ['systemctl', '--failed', '--no-legend', '--plain', '--no-pager']);
    if (state !== 'running') console.log(`system state '${state}' (${last.trim()}); failed units:\n${failed.stdout}`);
    expect(['running', 'degraded']).toContain(state);
  });

  it('is Debian bookworm, named after the container, with the definition packages, locale and generator', async () => {
    const osRelease = await client.attach(name, ['cat', '/etc/os-release']);
    expect(osRelease.stdout).toContain('VERSION_CODENAME=bookworm');
    expect(osRelease.stdout).toContain('ID=debian');
    expect((await client.attach(name, ['hostname'])).stdout.trim()).toBe(name);
    expect((await client.attach(name, ['cat', '/etc/hostname'])).stdout.trim()).toBe(name);
    expect((await client.attach(name, ['grep', '-c', `127.0.1.1\t${name}`, '/etc/hosts'])).stdout.trim()).toBe('1');
    const pkgs = await client.attach(name, [
      'dpkg-query',
      '-W',
      '-f',
      '${Package} ${Status}\n',
      'iproute2',
      'systemd-resolved',
      'locales',
      'sudo',
    ]);
    for (const p of ['iproute2', 'systemd-resolved', 'locales', 'sudo'])
      expect(pkgs.stdout).toContain(`${p} install ok installed`);
    expect((await client.attach(name, ['locale', '-a'])).stdout).toContain('en_US.utf8');
    expect((await client.attach(name, ['test', '-x', '/etc/systemd/system-generators/lxc'])).exitCode).toBe(0);
    // policy-rc.d only existed while the image was built.
    expect((await client.attach(name, ['test', '-e', '/usr/sbin/policy-rc.d'])).exitCode).not.toBe(0);
    expect((await client.attach(name, ['systemctl', 'is-enabled', 'systemd-networkd.service'])).stdout.trim()).toBe(
      'enabled',
    );
  });

  it('its root is clean by the linter: no shared ssh keys or machine-id, no package cache, no stray world-writable paths', () => {
    const record = JSON.parse(
      readFileSync(
        path.join(outDir, 'images/debian/bookworm/amd64/default', SHARED_CATALOG_SERIAL, 'build.json'),
        'utf8',
      ),
    ) as {
      lint: { warnings: string[]; setuid: string[] };
    };
    expect(record.lint.warnings).toEqual([]);
    expect(record.lint.setuid).toEqual(expect.arrayContaining(['/usr/bin/passwd 4755', '/usr/bin/su 4755']));
  });

  it('its published SBOM lists exactly the packages dpkg-query -W shows inside it', async () => {
    const sbomFile = path.join(outDir, 'images/debian/bookworm/amd64/default', SHARED_CATALOG_SERIAL, 'sbom.spdx.json');
    type SpdxPackage = { name: string; versionInfo?: string; externalRefs?: Array<{ referenceLocator: string }> };
    const sbom = JSON.parse(readFileSync(sbomFile, 'utf8')) as { spdxVersion: string; packages: SpdxPackage[] };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    // The image itself is the document's root package; the Debian packages carry a pkg:deb purl.
    const isDeb = (p: SpdxPackage): boolean =>
      (p.externalRefs ?? []).some((r) => r.referenceLocator.startsWith('pkg:deb/'));
    const listed = sbom.packages.filter(isDeb).map((p) => `${p.name} ${p.versionInfo}`);
    const inside = await client.attach(name, ['dpkg-query', '-W', '-f', '${db:Status-Abbrev} ${Package} ${Version}\n']);
    const installed = inside.stdout
      .split('\n')
      .filter((l) => /^[ih]i/.test(l))
      .map((l) => l.split(' ').slice(1).join(' ').trim());
    expect(listed.sort()).toEqual(installed.sort());
  });

  it('carries the marker of each action trigger, in build order', async () => {
    const log = await client.attach(name, ['cat', '/var/log/kiln/build.log']);
    const triggers = log.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[0]);
    expect(triggers).toEqual(['post-unpack', 'post-update', 'post-packages', 'post-files']);
  });

  it('lxc-destroy removes the container', async () => {
    await client.destroy(name);
    expect(existsSync(path.join(client.lxcPath, name))).toBe(false);
  });
});
