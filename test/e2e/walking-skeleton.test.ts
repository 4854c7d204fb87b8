import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln, ROOT } from '../helpers/kiln.js';
import { serveTree, type ServedTree } from '../helpers/serve.js';
import { LxcClient } from '../helpers/lxc-client.js';
import { kilnTempDirs, mountPoints } from '../helpers/host-state.js';

const BUSYBOX = path.join(ROOT, 'definitions/busybox.yaml');

describe('walking skeleton: busybox definition to a container the real LXC client boots', () => {
  let tmp: string;
  let out: string;
  let served: ServedTree | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-e2e-'));
    out = path.join(tmp, 'out');
  });

  afterAll(async () => {
    await served?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('kiln build publishes rootfs.tar.xz, meta.tar.xz and both indexes', async () => {
    const r = await kiln([
      'build',
      BUSYBOX,
      '--out',
      out,
      '--cache-dir',
      path.join(tmp, 'cache'),
      '--work-dir',
      path.join(tmp, 'work'),
    ]);
    expect(r.exitCode, r.all).toBe(0);
    const index = await readFile(path.join(out, 'meta/1.0/index-system'), 'utf8');
    const lines = index.split('\n');
    expect(lines.at(-1)).toBe(''); // every line ends in \n
    const [dist, release, arch, variant, serial, dir] = (lines[0] as string).split(';');
    expect([dist, release, arch, variant]).toEqual(['busybox', '1.35', 'amd64', 'default']);
    expect(serial).toMatch(/^\d{8}_\d{2}:\d{2}$/);
    const buildDir = path.join(out, dir as string);
    for (const f of ['rootfs.tar.xz', 'meta.tar.xz', 'SHA256SUMS', 'build.json'])
      expect(existsSync(path.join(buildDir, f)), f).toBe(true);
    expect(await readFile(path.join(out, 'meta/1.0/index-user'), 'utf8')).toBe(index);
    expect(kilnTempDirs(path.join(tmp, 'work'))).toEqual([]);
  });

  it('lxc-create -t download installs it from kiln serve, lxc-start boots it, and the marker was written inside the build container', async () => {
    served = await serveTree(out);
    const client = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
    const name = `kiln-e2e-${process.pid}`;
    try {
      const created = await client.createFromServer(name, served.server, 'busybox', '1.35', 'amd64');
      expect(created.exitCode, created.all).toBe(0);
      expect(created.all).toContain('You just created a BusyBox 1.35');
      expect((await readFile(path.join(client.rootfs(name), 'etc/hostname'), 'utf8')).trim()).toBe(name);

      const started = await client.start(name);
      expect(started.exitCode, started.all).toBe(0);
      expect((await client.wait(name, 'RUNNING', 30)).exitCode).toBe(0);

      const marker = await client.attach(name, ['cat', '/etc/kiln-marker']);
      expect(marker.exitCode, marker.all).toBe(0);
      // The action saw the build container's hostname and a pid namespace of its own.
      expect(marker.stdout).toMatch(/^customized by kiln inside its build container: hostname=distrobuilder pid=\d$/);
      const hostname = await client.attach(name, ['hostname']);
      expect(hostname.stdout.trim()).toBe(name);
    } finally {
      await client.destroy(name);
    }
    expect(existsSync(path.join(client.lxcPath, name))).toBe(false);
  });
});

describe('kiln build refuses bad definitions with one clear line and writes nothing', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-e2e-bad-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function buildBad(name: string, yaml: string) {
    const file = path.join(tmp, name);
    await writeFile(file, yaml);
    const out = path.join(tmp, `out-${name}`);
    const r = await kiln(['build', file, '--out', out, '--work-dir', path.join(tmp, 'work')]);
    return { r, out, file };
  }

  it('a YAML syntax error names the file, line and column', async () => {
    const { r, out, file } = await buildBad('syntax.yaml', 'image:\n  distribution: busybox\nsource: [unclosed\n');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`${file}:`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown downloader names the file, the key and the allowed values', async () => {
    const yaml = (await readFile(BUSYBOX, 'utf8')).replace('downloader: busybox', 'downloader: busyboxx');
    const { r, out, file } = await buildBad('downloader.yaml', yaml);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: source\\.downloader`));
    expect(r.stderr).toContain('busybox');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a failing post-unpack action', () => {
  it('fails the build with its exit code and last output, leaves no mount or temp dir, publishes nothing', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-e2e-fail-'));
    try {
      const yaml = (await readFile(BUSYBOX, 'utf8')).replace(
        'set -e\n',
        'set -e\n    echo "about to fail"\n    echo "this is the last line" >&2\n    exit 3\n',
      );
      const file = path.join(tmp, 'failing.yaml');
      await writeFile(file, yaml);
      const out = path.join(tmp, 'out');
      const work = path.join(tmp, 'work');
      const before = mountPoints();
      const r = await kiln(['build', file, '--out', out, '--work-dir', work, '--cache-dir', path.join(tmp, 'cache')]);
      expect(r.exitCode, r.all).toBe(3);
      expect(r.stderr).toContain('post-unpack');
      expect(r.stderr).toContain('exited with code 3');
      expect(r.stderr).toContain('this is the last line');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(mountPoints()).toEqual(before);
      expect(existsSync(out)).toBe(false);
      expect(kilnTempDirs(work)).toEqual([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
