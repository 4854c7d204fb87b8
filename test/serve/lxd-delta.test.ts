import { execa } from 'execa';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/pipeline/record.js';
import { publishBuild } from '../../src/publish/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';

const startDaemon = (env: Record<string, string>, log: string) =>
  execa('lxd', ['--group', 'root', '--logfile', log], { env, reject: false });

/**
 * The real LXD 5.0 daemon (Debian's `lxd`), holding the previous serial of a
 * kiln image, refreshes to the new one through the squashfs delta kiln
 * published: the access log shows the .vcdiff fetched and not the full
 * squashfs, and the refreshed image has the published fingerprint.
 */
describe('LXD daemon image refresh through a kiln delta', () => {
  let work: string;
  let tree: string;
  let server: RunningServer;
  let daemon: ReturnType<typeof startDaemon> | undefined;
  let env: Record<string, string>;
  const product = 'images/kilndelta/1/amd64/default';
  const [older, newer] = serials(2, Date.UTC(2026, 3, 1, 8, 0)) as [string, string];
  const lxc = (...args: string[]) => execa('/usr/bin/lxc', args, { env, timeout: 120_000, reject: false, all: true });

  beforeAll(async () => {
    work = await tempDir('lxd-delta');
    tree = join(work, 'tree');
    const a = await makeBuild(work, { serial: older, dist: 'kilndelta' });
    await publishBuild({ tree, stagingDir: a.staging, record: a.record });
    server = await startServer({
      tree,
      listen: { host: '127.0.0.1', port: 0 },
      accessLog: join(work, 'access.log'),
      smallFileCacheMs: 0,
    });
    await mkdir(join(work, 'lxd'));
    await mkdir(join(work, 'conf'));
    env = {
      ...(process.env as Record<string, string>),
      LXD_DIR: join(work, 'lxd'),
      LXD_CONF: join(work, 'conf'),
      HOME: work,
      SSL_CERT_FILE: server.caPath!,
    };
    daemon = startDaemon(env, join(work, 'lxd.log'));
    const ready = await execa('lxd', ['waitready', '--timeout', '60'], { env, reject: false, all: true });
    expect(ready.exitCode, ready.all).toBe(0);
    expect((await lxc('storage', 'create', 'default', 'dir')).exitCode).toBe(0);
    const remote = await lxc(
      'remote',
      'add',
      'kiln',
      `https://127.0.0.1:${server.httpsPort}`,
      '--protocol=simplestreams',
      '--public',
    );
    expect(remote.exitCode, remote.all).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (daemon) {
      await execa('lxd', ['shutdown', '--timeout', '30'], { env, reject: false });
      daemon.kill('SIGKILL');
      await daemon;
    }
    await server?.close();
    await rm(work, { recursive: true, force: true });
  }, 120_000);

  it('downloads the delta, not the full squashfs, and ends with the published fingerprint', async () => {
    const copy = await lxc('image', 'copy', 'kiln:kilndelta/1', 'local:', '--auto-update', '--alias', 'kd');
    expect(copy.exitCode, copy.all).toBe(0);
    const first = JSON.parse(await readFile(join(tree, product, older, 'build.json'), 'utf8')) as BuildRecord;
    const held = await lxc('image', 'list', 'local:', '--format', 'json');
    expect(held.all).toContain(first.fingerprints.combined_squashfs_sha256);

    const b = await makeBuild(work, { serial: newer, dist: 'kilndelta' });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    const second = JSON.parse(await readFile(join(tree, product, newer, 'build.json'), 'utf8')) as BuildRecord;
    const logBefore = (await readFile(join(work, 'access.log'), 'utf8')).length;

    // The daemon keeps the streams for an hour (LXD_DIR/cache); a client an hour later sees the new serial.
    const cache = join(work, 'lxd', 'cache');
    for (const d of await readdir(cache)) await rm(join(cache, d, 'images.json'), { force: true });
    const refresh = await lxc('image', 'refresh', 'kd');
    expect(refresh.exitCode, refresh.all).toBe(0);
    const log = (await readFile(join(work, 'access.log'), 'utf8')).slice(logBefore);
    expect(log).toMatch(
      new RegExp(
        `GET /${product}/${newer.replace(':', '(:|%3A)')}/delta-${older.replace(':', '(:|%3A)')}\\.vcdiff HTTP/1\\.1" 200`,
      ),
    );
    expect(log).not.toMatch(new RegExp(`/${newer.replace(':', '(:|%3A)')}/rootfs\\.squashfs`));
    // Every line names the client, also for requests whose TLS connection closed before the line was written.
    const lines = (await readFile(join(work, 'access.log'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.filter((l) => !l.startsWith('127.0.0.1 - - ['))).toEqual([]);
    const after = await lxc('image', 'list', 'local:', '--format', 'json');
    const images = JSON.parse(after.stdout) as { fingerprint: string; aliases: { name: string }[] }[];
    expect(images.find((i) => i.aliases.some((a) => a.name === 'kd'))?.fingerprint).toBe(
      second.fingerprints.combined_squashfs_sha256,
    );
  }, 300_000);
});
