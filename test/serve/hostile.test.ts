import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer as createUnixServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../src/publish/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';
import { get, rawRequest } from './raw-http.js';

/**
 * Requests trying to leave the tree or reach hidden parts of it. Each gets
 * 400 or 404, and no answer ever carries the secrets planted around the tree.
 */
describe('kiln serve against hostile requests', () => {
  let work: string;
  let tree: string;
  let server: RunningServer;
  let ca: string;
  let unixSocket: Server;
  const [serial] = serials(1);
  const productDir = 'images/kilntest/1/amd64/default';

  beforeAll(async () => {
    work = await tempDir('hostile');
    tree = join(work, 'tree');
    const b = await makeBuild(work, { serial: serial! });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    await writeFile(join(work, 'secret.txt'), 'TOPSECRET outside the tree\n');
    await mkdir(join(work, 'outside'));
    await writeFile(join(work, 'outside/file'), 'TOPSECRET in a directory outside\n');
    await symlink('../../secret.txt', join(tree, 'images/evil'));
    await symlink(join(work, 'outside'), join(tree, 'images/evildir'));
    await symlink('../.kiln', join(tree, 'images/kilnlink'));
    await mkdir(join(tree, productDir, '.20990101_00:00'));
    await writeFile(join(tree, productDir, '.20990101_00:00/rootfs.tar.xz'), 'TOPSECRET half-staged build\n');
    await writeFile(join(tree, 'meta/1.0/.index-system.tmp-1-abcdef12'), 'TOPSECRET temp index\n');
    await writeFile(join(tree, '.htpasswd'), 'TOPSECRET dotfile\n');
    execFileSync('mkfifo', [join(tree, 'images/fifo')]);
    execFileSync('mknod', [join(tree, 'images/devnull'), 'c', '1', '3']);
    unixSocket = createUnixServer();
    await new Promise<void>((ok) => unixSocket.listen(join(tree, 'images/socket'), ok));
    server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 } });
    ca = await readFile(server.caPath!, 'utf8');
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((ok) => unixSocket?.close(ok));
    await rm(work, { recursive: true, force: true });
  });

  const cases: [string, string | Buffer, number][] = [
    ['a /../ segment', get('/../secret.txt'), 400],
    ['/../ deeper in the path', get('/images/../../secret.txt'), 400],
    ['percent-encoded dots %2e%2e', get('/%2e%2e/secret.txt'), 400],
    ['upper-case %2E%2E with an encoded slash', get('/%2E%2E%2Fsecret.txt'), 400],
    ['encoded slashes hiding ..', get('/images%2f..%2f..%2fsecret.txt'), 400],
    ['..%2f inside a segment', get('/images/..%2f..%2fsecret.txt'), 400],
    ['backslashes', get('/images\\..\\..\\secret.txt'), 400],
    ['encoded backslash', get('/images/%5c..%5csecret.txt'), 400],
    ['an encoded NUL', get('/meta/1.0/index-system%00.json'), 400],
    [
      'a raw NUL byte',
      Buffer.concat([
        Buffer.from('GET /meta/1.0/index-system'),
        Buffer.from([0]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ]),
      400,
    ],
    ['bad percent-encoding', get('/images/%zz'), 400],
    ['a very long path (5000 bytes)', get(`/${'a/'.repeat(2500)}`), 400],
    ['a huge path (40000 bytes)', get(`/${'b'.repeat(40000)}`), 400],
    ['a path segment of 300 bytes', get(`/${'c'.repeat(300)}`), 400],
    ['an absolute-form target', get('http://127.0.0.1/../secret.txt'), 400],
    ['a symlink to a file outside the tree', get('/images/evil'), 404],
    ['a symlink to a directory outside the tree', get('/images/evildir/file'), 404],
    ['a symlink into the hidden .kiln directory', get('/images/kilnlink/tls/ca.key'), 404],
    ['the CA private key', get('/.kiln/tls/ca.key'), 404],
    ['the CA private key with an encoded dot', get('/%2ekiln/tls/ca.key'), 404],
    ['the server key over //', get('//.kiln//tls//server.key'), 404],
    ['a hidden staging directory', get(`/${productDir}/.20990101_00:00/rootfs.tar.xz`), 404],
    ['a hidden staging directory, %3A-encoded', get(`/${productDir}/.20990101_00%3A00/rootfs.tar.xz`), 404],
    ['a temp file of an index being written', get('/meta/1.0/.index-system.tmp-1-abcdef12'), 404],
    ['a dotfile at the root', get('/.htpasswd'), 404],
    ['the tree lock', get('/.kiln/lock'), 404],
    ['a FIFO in the tree', get('/images/fifo'), 404],
    ['a device node in the tree', get('/images/devnull'), 404],
    ['a socket in the tree', get('/images/socket'), 404],
    ['a file named as a directory (trailing slash)', get(`/${productDir}/${serial}/build.json/`), 404],
    ['an index named as a directory (trailing slash)', get('/meta/1.0/index-system/'), 404],
  ];

  for (const [what, request, status] of cases) {
    it(`answers ${status} to ${what}`, async () => {
      const res = await rawRequest(server.httpsPort, request);
      expect(res.status).toBe(status);
      expect(res.raw).not.toContain('TOPSECRET');
      expect(res.raw).not.toContain('PRIVATE KEY');
      expect(res.headers.location).toBeUndefined();
    });
  }

  it('answers the same over TLS', async () => {
    for (const [, request, status] of cases.slice(0, 6)) {
      const res = await rawRequest(server.httpsPort, request, { ca });
      expect(res.status).toBe(status);
      expect(res.raw).not.toContain('TOPSECRET');
    }
  });

  it('leaves hidden and outside entries out of directory listings', async () => {
    const root = await rawRequest(server.httpsPort, get(`/${productDir}/`));
    expect(root.status).toBe(200);
    expect(root.body.toString()).toContain(serial);
    expect(root.body.toString()).not.toContain('20990101');
    const images = await rawRequest(server.httpsPort, get('/images/'));
    expect(images.body.toString()).toContain('kilntest/');
    for (const link of ['evil', 'evildir', 'kilnlink']) expect(images.body.toString()).not.toContain(`>${link}`);
    for (const special of ['fifo', 'devnull', 'socket']) expect(images.body.toString()).not.toContain(special);
  });

  it('answers 404 for a trailing slash even after the file was cached', async () => {
    expect((await rawRequest(server.httpsPort, get('/meta/1.0/index-user'))).status).toBe(200);
    expect((await rawRequest(server.httpsPort, get('/meta/1.0/index-user/'))).status).toBe(404);
  });

  it('still serves the real files after all that', async () => {
    const res = await rawRequest(server.httpsPort, get('//meta/1.0/index-system'));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(`kilntest;1;amd64;default;${serial};/${productDir}/${serial}/\n`);
  });
});
