import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../src/publish/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';

const run = promisify(execFile);

/**
 * The real LXC download template (Debian 12: lxc 5.0.2) against kiln serve:
 * HTTPS only, trusting kiln's local CA through WGETRC, as a user would.
 */
describe('lxc-create -t download against kiln serve', () => {
  let work: string;
  let tree: string;
  let server: RunningServer;
  let prefixed: RunningServer;
  const dist = `kiln${randomBytes(3).toString('hex')}`;
  const [serial] = serials(1, Date.UTC(2026, 2, 1, 7, 42));

  beforeAll(async () => {
    work = await tempDir('lxc-client');
    tree = join(work, 'tree');
    const b = await makeBuild(work, { serial: serial!, dist });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 }, accessLog: join(work, 'access.log') });
    prefixed = await startServer({
      tree,
      listen: { host: '127.0.0.1', port: 0 },
      prefix: '/mirror',
      accessLog: join(work, 'access-prefixed.log'),
    });
    await writeFile(join(work, 'ct.conf'), 'lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n');
    await mkdir(join(work, 'lxc'));
  });
  afterAll(async () => {
    await server?.close();
    await prefixed?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function create(serverArg: string): Promise<{ name: string; stdout: string }> {
    const name = `kiln-t-${randomBytes(4).toString('hex')}`;
    const lxcpath = join(work, 'lxc');
    try {
      const { stdout } = await run(
        'lxc-create',
        [
          '-P',
          lxcpath,
          '-n',
          name,
          '-f',
          join(work, 'ct.conf'),
          '-t',
          'download',
          '--',
          '--server',
          serverArg,
          '-d',
          dist,
          '-r',
          '1',
          '-a',
          'amd64',
        ],
        {
          env: { ...process.env, WGETRC: server.wgetrcPath!, LXC_CACHE_PATH: join(work, `cache-${name}`) },
          timeout: 120_000,
        },
      );
      const rootfs = join(lxcpath, name, 'rootfs');
      expect((await readFile(join(rootfs, 'etc/kiln-serial'), 'utf8')).trim()).toBe(serial);
      expect((await readFile(join(rootfs, 'etc/hostname'), 'utf8')).trim()).toBe(name);
      expect(await readFile(join(lxcpath, name, 'config'), 'utf8')).toMatch(/lxc\.net\.0\.type = empty/);
      return { name, stdout };
    } finally {
      await run('lxc-destroy', ['-P', lxcpath, '-n', name, '-f']).catch(() => undefined);
    }
  }

  it('creates a container over HTTPS with WGETRC, one index request (index-system.7) and no 404', async () => {
    const { stdout } = await create(`127.0.0.1:${server.httpsPort}`);
    expect(stdout).toContain(`kiln test image ${dist} 1 (serial ${serial})`);
    const log = await readFile(join(work, 'access.log'), 'utf8');
    const requests = log
      .trim()
      .split('\n')
      .map((l) => /"GET (\S+) HTTP\/1\.1" (\d+)/.exec(l)!.slice(1, 3).join(' '));
    expect(requests).toEqual([
      '//meta/1.0/index-system.7 200',
      `//images/${dist}/1/amd64/default/${serial}//rootfs.tar.xz 200`,
      `//images/${dist}/1/amd64/default/${serial}//meta.tar.xz 200`,
    ]);
    expect(log).toMatch(/"lxc\/5\.0\.\d+ compat:7"/);
  });

  it('creates a container from a server under a path prefix (--server HOST:PORT/mirror)', async () => {
    await create(`127.0.0.1:${prefixed.httpsPort}/mirror`);
    const log = await readFile(join(work, 'access-prefixed.log'), 'utf8');
    expect(log).toContain('"GET /mirror//meta/1.0/index-system.7 HTTP/1.1" 200');
    expect(log).toContain(`"GET /mirror//images/${dist}/1/amd64/default/${serial}//rootfs.tar.xz HTTP/1.1" 200`);
  });
});
