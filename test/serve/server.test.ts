import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../src/publish/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';
import { get, rawRequest } from './raw-http.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function fetchOver(
  scheme: 'http' | 'https',
  port: number,
  path: string,
  opts: { ca?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = (scheme === 'https' ? httpsRequest : httpRequest)(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ca: opts.ca,
        servername: 'localhost',
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    s.resume();
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('kiln serve', () => {
  let work: string;
  let tree: string;
  let server: RunningServer;
  let ca: string;
  const [serial] = serials(1);
  const dir = `images/kilntest/1/amd64/default/${serial}`;
  const https = (path: string, opts: { method?: string; headers?: Record<string, string> } = {}) =>
    fetchOver('https', server.httpsPort, path, { ...opts, ca });

  beforeAll(async () => {
    work = await tempDir('server');
    tree = join(work, 'tree');
    const b = await makeBuild(work, { serial: serial! });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    server = await startServer({
      tree,
      listen: { host: '127.0.0.1', port: 0 },
      httpListen: { host: '127.0.0.1', port: 0 },
      accessLog: join(work, 'access.log'),
      maxConnections: 8,
      timeouts: { headersMs: 1000, handshakeMs: 1000, idleMs: 3000 },
    });
    ca = await readFile(server.caPath!, 'utf8');
  });
  afterAll(async () => {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('collapses // and accepts : and %3A in paths, without redirecting', async () => {
    const want = await readFile(join(tree, dir, 'SHA256SUMS'));
    for (const path of [
      `/${dir}/SHA256SUMS`,
      `//${dir}//SHA256SUMS`,
      `//${dir.replace(':', '%3A')}//SHA256SUMS`,
      `/${dir.replace(':', '%3a')}/SHA256SUMS`,
    ]) {
      const res = await https(path);
      expect(res.status, path).toBe(200);
      expect(res.body.equals(want)).toBe(true);
    }
    const listing = await https('/images');
    expect(listing.status).toBe(200);
    expect(listing.headers.location).toBeUndefined();
  });

  it('serves plain HTTP on the HTTPS port (LXD and Incus try http there first) and on the second listener', async () => {
    const index = await readFile(join(tree, 'meta/1.0/index-system'));
    expect((await fetchOver('http', server.httpsPort, '/meta/1.0/index-system')).body.equals(index)).toBe(true);
    expect((await fetchOver('http', server.httpPort!, '/meta/1.0/index-system')).body.equals(index)).toBe(true);
    expect((await fetchOver('https', server.httpPort!, '/meta/1.0/index-system', { ca })).body.equals(index)).toBe(
      true,
    );
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const size = (await stat(join(tree, dir, 'rootfs.tar.xz'))).size;
    const res = await https(`/${dir}/rootfs.tar.xz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(size));
    expect(res.headers['content-type']).toBe('application/x-xz');
    expect(res.body.length).toBe(0);
  });

  it('serves single byte ranges (206), suffix ranges, and 416 past the end', async () => {
    const file = await readFile(join(tree, dir, 'rootfs.tar.xz'));
    const a = await https(`/${dir}/rootfs.tar.xz`, { headers: { Range: 'bytes=100-199' } });
    expect(a.status).toBe(206);
    expect(a.headers['content-range']).toBe(`bytes 100-199/${file.length}`);
    expect(a.body.equals(file.subarray(100, 200))).toBe(true);
    const b = await https(`/${dir}/rootfs.tar.xz`, { headers: { Range: 'bytes=-10' } });
    expect(b.body.equals(file.subarray(file.length - 10))).toBe(true);
    const c = await https(`/${dir}/rootfs.tar.xz`, { headers: { Range: 'bytes=100000-' } });
    expect(c.body.equals(file.subarray(100000))).toBe(true);
    const d = await https(`/${dir}/rootfs.tar.xz`, { headers: { Range: `bytes=${file.length}-` } });
    expect(d.status).toBe(416);
    expect(d.headers['content-range']).toBe(`bytes */${file.length}`);
    const e = await https(`/${dir}/rootfs.tar.xz`, { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
    expect(e.status).toBe(200);
    expect(e.body.length).toBe(file.length);
  });

  it('sends ETag and Last-Modified and answers conditional requests with 304', async () => {
    const first = await https('/streams/v1/images.json');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    expect(first.headers['last-modified']).toBeTruthy();
    expect((await https('/streams/v1/images.json', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await https('/streams/v1/images.json', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
    expect(
      (
        await https('/streams/v1/images.json', {
          headers: { 'If-Modified-Since': first.headers['last-modified'] as string },
        })
      ).status,
    ).toBe(304);
    expect(
      (await https('/streams/v1/images.json', { headers: { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' } }))
        .status,
    ).toBe(200);
  });

  it('labels content types and caching: JSON, text indexes, tarballs, squashfs, HTML catalog', async () => {
    const type = async (p: string) => (await https(p, { method: 'HEAD' })).headers;
    expect((await type('/streams/v1/index.json'))['content-type']).toBe('application/json');
    expect((await type('/meta/1.0/index-system'))['content-type']).toBe('text/plain; charset=utf-8');
    expect((await type('/meta/1.0/index-system.7'))['content-type']).toBe('text/plain; charset=utf-8');
    expect((await type(`/${dir}/SHA256SUMS`))['content-type']).toBe('text/plain; charset=utf-8');
    expect((await type(`/${dir}/rootfs.squashfs`))['content-type']).toBe('application/octet-stream');
    expect((await type('/'))['content-type']).toBe('text/html; charset=utf-8');
    expect((await type('/meta/1.0/index-system'))['cache-control']).toBe('no-cache');
    expect((await type(`/${dir}/rootfs.tar.xz`))['cache-control']).toMatch(/max-age=/);
  });

  it('refuses methods other than GET and HEAD with 405', async () => {
    const res = await https('/meta/1.0/index-system', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('answers 404 for missing files quickly and never redirects', async () => {
    const res = await https('//meta/1.0/index-nothing.7');
    expect(res.status).toBe(404);
    expect(res.headers.location).toBeUndefined();
  });

  it('drops a client that never finishes its request head (header timeout)', async () => {
    const s = await openSocket(server.httpsPort);
    s.write('GET /meta/1.0/index-system HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    const trickle = setInterval(() => s.writable && s.write('X-A: b\r\n'), 200);
    try {
      expect(await closedWithin(s, 5000)).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    } finally {
      clearInterval(trickle);
      s.destroy();
    }
  });

  it('drops a connection that sends nothing (first-byte timeout)', async () => {
    const s = await openSocket(server.httpsPort);
    expect(await closedWithin(s, 4000)).toBe(true);
  });

  it('closes connections over the limit at once and serves again when they are gone', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await openSocket(server.httpsPort);
      s.write('GET / HTTP/1.1\r\n');
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 100));
    const extra = await openSocket(server.httpsPort);
    expect(await closedWithin(extra, 1000)).toBe(true);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await https('/meta/1.0/index-system')).status).toBe(200);
  });

  it('writes an access log line per request with method, raw path, status, size and user agent', async () => {
    await https('//meta/1.0/index-user', { headers: { 'User-Agent': 'lxc/5.0.2 compat:7' } });
    await new Promise((r) => setTimeout(r, 50));
    const log = await readFile(join(work, 'access.log'), 'utf8');
    const size = (await stat(join(tree, 'meta/1.0/index-user'))).size;
    expect(log).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET //meta/1.0/index-user HTTP/1.1" 200 ${size} "-" "lxc/5.0.2 compat:7" [0-9.]+ms https$`,
        'm',
      ),
    );
  });

  it('serves a directory listing for tree directories, hidden entries left out', async () => {
    const res = await rawRequest(server.httpsPort, get('/meta/1.0/'));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('index-system.7');
  });
});

describe('kiln serve shutdown', () => {
  it('lets a download in flight finish, refuses new connections, then resolves close()', async () => {
    const work = await tempDir('shutdown');
    try {
      const tree = join(work, 'tree');
      const [serial] = serials(1);
      const b = await makeBuild(work, { serial: serial! });
      await publishBuild({ tree, stagingDir: b.staging, record: b.record });
      const server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 } });
      const path = `/images/kilntest/1/amd64/default/${serial}/rootfs.tar.xz`;
      const size = (await stat(join(tree, path))).size;
      const got = new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: server.httpsPort, path, agent: false }, (res) => {
          let n = 0;
          res.pause();
          setTimeout(() => res.resume(), 300);
          res.on('data', (d: Buffer) => (n += d.length));
          res.on('end', () => resolve(n));
        });
        req.on('error', reject);
        req.end();
      });
      await new Promise((r) => setTimeout(r, 100));
      const closing = server.close();
      await new Promise((r) => setTimeout(r, 50));
      await expect(openSocket(server.httpsPort)).rejects.toThrow(/ECONNREFUSED/);
      expect(await got).toBe(size);
      await closing;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('kiln serve under a path prefix', () => {
  it('serves the tree and the catalog only below the prefix, with commands and links that carry it', async () => {
    const work = await tempDir('prefix');
    try {
      const tree = join(work, 'tree');
      const [serial] = serials(1);
      const b = await makeBuild(work, { serial: serial! });
      await publishBuild({ tree, stagingDir: b.staging, record: b.record });
      const server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 }, prefix: '/mirror/' });
      try {
        expect(server.prefix).toBe('/mirror');
        expect((await rawRequest(server.httpsPort, get('/meta/1.0/index-system'))).status).toBe(404);
        expect((await rawRequest(server.httpsPort, get('/mirror//meta/1.0/index-system'))).status).toBe(200);
        const page = (await rawRequest(server.httpsPort, get('/mirror/'))).body.toString();
        expect(page).toContain(`--server 127.0.0.1:${server.httpsPort}/mirror -d kilntest -r 1 -a amd64`);
        expect(page).toContain(`href="/mirror/images/kilntest/1/amd64/default/${serial}/rootfs.tar.xz"`);
        expect(page).toContain(
          `lxc remote add kiln https://127.0.0.1:${server.httpsPort}/mirror --protocol=simplestreams --public`,
        );
      } finally {
        await server.close();
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
