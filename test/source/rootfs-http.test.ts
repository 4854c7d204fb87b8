import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fetchSource, SourceError, VerificationError } from '../../src/source/index.js';
import type { SourceSection } from '../../src/definition/types.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/http-server.js';
import { startForwardProxy } from '../fixtures/http-proxy.js';
import { makeContext, type TestContext } from './context.js';
import { makeTestKey, type TestKey } from './gpg-keys.js';
import { gnuTar, makeSquashfs, makeZip, zstdBomb } from './archives.js';
import { describeTree, makeRichTree } from './trees.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

let work: string;
let tree: string;
let server: FixtureServer;
let trusted: TestKey;
let stranger: TestKey;
const archives: Record<string, Buffer> = {};
const contexts: TestContext[] = [];
let downloadedTree: string[];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-rootfs-http-'));
  tree = path.join(work, 'tree');
  await mkdir(tree);
  makeRichTree(tree);
  for (const c of ['gzip', 'xz', 'zstd', 'bzip2', undefined] as const) {
    const name = `rootfs.tar${c ? { gzip: '.gz', xz: '.xz', zstd: '.zst', bzip2: '.bz2' }[c] : ''}`;
    gnuTar(tree, path.join(work, name), c);
    archives[name] = await readFile(path.join(work, name));
  }
  makeZip(tree, path.join(work, 'rootfs.zip'));
  archives['rootfs.zip'] = await readFile(path.join(work, 'rootfs.zip'));
  makeSquashfs(tree, path.join(work, 'rootfs.sqfs'));
  archives['rootfs.sqfs'] = await readFile(path.join(work, 'rootfs.sqfs'));
  trusted = makeTestKey('Kiln Trusted');
  stranger = makeTestKey('Kiln Stranger');
  server = await startFixtureServer();
  // What a download of the tree unpacks to: its device node left out (source.unpack.devices).
  downloadedTree = describeTree(tree).filter((l) => !l.startsWith('dev/null '));
});

afterAll(async () => {
  await server.close();
  trusted.dispose();
  stranger.dispose();
  await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  server.clearLog();
  for (const c of contexts.splice(0)) await c.cleanup();
});

async function ctxFor(source: Omit<SourceSection, 'downloader'>, cacheDir?: string): Promise<TestContext> {
  const c = await makeContext({ downloader: 'rootfs-http', ...source }, cacheDir ? { cacheDir } : {});
  contexts.push(c);
  return c;
}

/** Publishes `dir/name` with a SHA256SUMS detached-signed by `key`. */
function publish(dir: string, name: string, body: Buffer, key: TestKey = trusted): void {
  server.set(`${dir}/${name}`, body);
  const sums = `${sha256(body)}  ${name}\n${sha256(Buffer.from('other'))}  other.tar.gz\n`;
  server.set(`${dir}/SHA256SUMS`, sums);
  server.set(`${dir}/SHA256SUMS.asc`, key.detachSign(sums));
}

describe('rootfs-http with signed sums files', () => {
  it('verifies a detached-signed SHA256SUMS and unpacks the tarball', async () => {
    publish('/good', 'rootfs.tar.xz', archives['rootfs.tar.xz']!);
    const ctx = await ctxFor({ url: server.url('/good/rootfs.tar.xz'), keys: [trusted.armored] });
    const record = await fetchSource(ctx);
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
    expect(record).toEqual({
      downloader: 'rootfs-http',
      resolved: { format: 'tar.xz' },
      inputs: [
        {
          url: server.url('/good/rootfs.tar.xz'),
          sha256: sha256(archives['rootfs.tar.xz']!),
          size: archives['rootfs.tar.xz']!.length,
          verifiedBy: `gpg:${trusted.fingerprint}`,
        },
      ],
    });
    const progress = ctx.sink.events.filter((e) => e.type === 'progress' && e.unit === 'bytes');
    expect(progress.at(-1)).toMatchObject({
      done: archives['rootfs.tar.xz']!.length,
      total: archives['rootfs.tar.xz']!.length,
    });
  });

  it('verifies a clearsigned SHA512SUMS', async () => {
    const body = archives['rootfs.tar.gz']!;
    server.set('/clear/rootfs.tar.gz', body);
    server.set('/clear/SHA512SUMS', trusted.clearsign(`${sha512(body)}  rootfs.tar.gz\n`));
    const ctx = await ctxFor({ url: server.url('/clear/rootfs.tar.gz'), keys: [trusted.armored] });
    const record = await fetchSource(ctx);
    expect(record.inputs[0]!.verifiedBy).toBe(`gpg:${trusted.fingerprint}`);
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
  });

  it('verifies a detached signature over the tarball itself', async () => {
    const body = archives['rootfs.tar.zst']!;
    server.set('/direct/rootfs.tar.zst', body);
    server.set('/direct/rootfs.tar.zst.sig', trusted.detachSign(body));
    const ctx = await ctxFor({ url: server.url('/direct/rootfs.tar.zst'), keys: [trusted.armored] });
    const record = await fetchSource(ctx);
    expect(record.inputs[0]!.verifiedBy).toBe(`gpg:${trusted.fingerprint}`);
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
  });

  it('fails on a tarball that does not match the signed sums, leaving the root empty', async () => {
    publish('/wrong', 'rootfs.tar.gz', archives['rootfs.tar.gz']!);
    server.set('/wrong/rootfs.tar.gz', archives['rootfs.tar.bz2']!);
    const ctx = await ctxFor({ url: server.url('/wrong/rootfs.tar.gz'), keys: [trusted.armored] });
    const err = await fetchSource(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(
      `${server.url('/wrong/rootfs.tar.gz')}: sha256 mismatch: expected ${sha256(archives['rootfs.tar.gz']!)}, got ${sha256(archives['rootfs.tar.bz2']!)}`,
    );
    expect(await readdir(ctx.rootfs)).toEqual([]);
    expect(await readdir(path.join(ctx.cacheDir, 'blobs/sha256'))).toEqual([]);
  });

  it('fails on a sums file changed after it was signed (bad signature)', async () => {
    publish('/tampered', 'rootfs.tar.gz', archives['rootfs.tar.gz']!);
    server.set('/tampered/SHA256SUMS', `${sha256(archives['rootfs.tar.bz2']!)}  rootfs.tar.gz\n`);
    const ctx = await ctxFor({ url: server.url('/tampered/rootfs.tar.gz'), keys: [trusted.armored] });
    await expect(fetchSource(ctx)).rejects.toThrow(
      new VerificationError(`${server.url('/tampered/SHA256SUMS.asc')}: BAD signature`),
    );
    expect(server.requestsFor('/tampered/rootfs.tar.gz')).toEqual([]);
  });

  it('fails on sums signed by a key that is not in source.keys', async () => {
    publish('/unknown', 'rootfs.tar.gz', archives['rootfs.tar.gz']!, stranger);
    const ctx = await ctxFor({ url: server.url('/unknown/rootfs.tar.gz'), keys: [trusted.armored] });
    const err = await fetchSource(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(
      /SHA256SUMS\.asc: signed by unknown key [0-9A-F]{16} \(not in source\.keys\)/,
    );
    expect(stranger.fingerprint.endsWith((err as Error).message.match(/key ([0-9A-F]{16})/)![1]!)).toBe(true);
  });

  it('fails when keys are set but there is no sums file or signature', async () => {
    server.set('/nosums/rootfs.tar.gz', archives['rootfs.tar.gz']!);
    const ctx = await ctxFor({ url: server.url('/nosums/rootfs.tar.gz'), keys: [trusted.armored] });
    const err = await fetchSource(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(
      /source\.keys are set but no signature or signed sums file was found \(tried .*\/nosums\/SHA256SUMS, .*\/nosums\/rootfs\.tar\.gz\.asc, /,
    );
  });

  it('does not accept an unsigned sums file as proof', async () => {
    server.set('/unsigned/rootfs.tar.gz', archives['rootfs.tar.gz']!);
    server.set('/unsigned/SHA256SUMS', `${sha256(archives['rootfs.tar.gz']!)}  rootfs.tar.gz\n`);
    const ctx = await ctxFor({ url: server.url('/unsigned/rootfs.tar.gz'), keys: [trusted.armored] });
    await expect(fetchSource(ctx)).rejects.toThrow(/no signature or signed sums file was found/);
  });

  it('rejects a key entry that is neither an armored key nor a fingerprint', async () => {
    publish('/badkey', 'rootfs.tar.gz', archives['rootfs.tar.gz']!);
    const ctx = await ctxFor({ url: server.url('/badkey/rootfs.tar.gz'), keys: ['not a key'] });
    await expect(fetchSource(ctx)).rejects.toThrow(
      /source\.keys\[0\]: "not a key" is neither an armored public key block nor/,
    );
  });

  it('fetches a fingerprint from source.keyserver when one is set', async () => {
    const keyserver = await startFixtureServer();
    try {
      keyserver.handle('/pks/lookup', (req, res) => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const found = q.get('op') === 'get' && q.get('search')?.toUpperCase().endsWith(trusted.fingerprint.slice(-16));
        res.writeHead(found ? 200 : 404, { 'content-type': 'application/pgp-keys' });
        res.end(found ? trusted.armored : 'not found\n');
      });
      publish('/ks', 'rootfs.tar.gz', archives['rootfs.tar.gz']!);
      const ctx = await ctxFor({
        url: server.url('/ks/rootfs.tar.gz'),
        keys: [trusted.fingerprint],
        keyserver: `hkp://127.0.0.1:${keyserver.port}`,
      });
      const record = await fetchSource(ctx);
      expect(record.inputs[0]!.verifiedBy).toBe(`gpg:${trusted.fingerprint}`);
      expect(keyserver.requestsFor('/pks/lookup').length).toBeGreaterThan(0);
    } finally {
      await keyserver.close();
    }
  });

  it('needs a keyserver for a fingerprint that the host keyrings do not have', async () => {
    publish('/fpr', 'rootfs.tar.gz', archives['rootfs.tar.gz']!);
    const ctx = await ctxFor({ url: server.url('/fpr/rootfs.tar.gz'), keys: [trusted.fingerprint] });
    await expect(fetchSource(ctx)).rejects.toThrow(
      `source.keys[0]: key ${trusted.fingerprint} is not in the host keyrings and source.keyserver is not set; paste the armored key or set a keyserver`,
    );
  });
});

describe('rootfs-http without keys', () => {
  it('refuses to use an unverifiable download', async () => {
    server.set('/plain/rootfs.tar', archives['rootfs.tar']!);
    const ctx = await ctxFor({ url: server.url('/plain/rootfs.tar') });
    const err = await fetchSource(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(
      /cannot be verified: set source\.keys .*source\.checksum .*skip_verification: true/,
    );
    expect(server.requests).toEqual([]);
  });

  it('unpacks with skip_verification, warning that nothing was verified', async () => {
    server.set('/plain/rootfs.tar', archives['rootfs.tar']!);
    const ctx = await ctxFor({ url: server.url('/plain/rootfs.tar'), skip_verification: true });
    const record = await fetchSource(ctx);
    expect(record.inputs[0]!.verifiedBy).toBe('none');
    expect(ctx.sink.events).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringMatching(/NOT verified/) }),
    );
  });

  for (const name of ['rootfs.tar', 'rootfs.tar.gz', 'rootfs.tar.xz', 'rootfs.tar.zst', 'rootfs.tar.bz2']) {
    it(`verifies source.checksum and unpacks ${name}`, async () => {
      server.set(`/sum/${name}`, archives[name]!);
      const ctx = await ctxFor({ url: server.url(`/sum/${name}`), checksum: `sha256:${sha256(archives[name]!)}` });
      const record = await fetchSource(ctx);
      expect(record.inputs[0]!.verifiedBy).toBe('checksum:sha256');
      expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
    });
  }

  it('unpacks a squashfs image served over http', async () => {
    server.set('/img/rootfs.squashfs', archives['rootfs.sqfs']!);
    const ctx = await ctxFor({
      url: server.url('/img/rootfs.squashfs'),
      checksum: `sha256:${sha256(archives['rootfs.sqfs']!)}`,
    });
    expect((await fetchSource(ctx)).resolved).toEqual({ format: 'squashfs' });
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
  });

  it('unpacks a zip served over http (owners become root)', async () => {
    server.set('/img/rootfs.zip', archives['rootfs.zip']!);
    const ctx = await ctxFor({
      url: server.url('/img/rootfs.zip'),
      checksum: `sha512:${sha512(archives['rootfs.zip']!)}`,
    });
    expect((await fetchSource(ctx)).resolved).toEqual({ format: 'zip' });
    expect(await readFile(path.join(ctx.rootfs, 'etc/passwd'), 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect((await lstat(path.join(ctx.rootfs, 'usr/bin/su'))).mode & 0o7777).toBe(0o4755);
  });

  it('fails on a wrong sha512 checksum', async () => {
    server.set('/sum512/rootfs.tar.gz', archives['rootfs.tar.gz']!);
    const wrong = sha512(Buffer.from('something else'));
    const ctx = await ctxFor({ url: server.url('/sum512/rootfs.tar.gz'), checksum: `sha512:${wrong}` });
    await expect(fetchSource(ctx)).rejects.toThrow(
      `sha512 mismatch: expected ${wrong}, got ${sha512(archives['rootfs.tar.gz']!)}`,
    );
    expect(await readdir(ctx.rootfs)).toEqual([]);
  });

  it('rejects a malformed checksum', async () => {
    const ctx = await ctxFor({ url: server.url('/x.tar'), checksum: 'md5:abcd' });
    await expect(fetchSource(ctx)).rejects.toThrow(
      new SourceError('source.checksum: "md5:abcd" is not sha256:<64 hex digits> or sha512:<128 hex digits>'),
    );
  });

  it('reads file:// URLs', async () => {
    const file = path.join(work, 'rootfs.tar.zst');
    const ctx = await ctxFor({
      url: pathToFileURL(file).href,
      checksum: `sha256:${sha256(archives['rootfs.tar.zst']!)}`,
    });
    const record = await fetchSource(ctx);
    expect(record.inputs[0]!.url).toBe(pathToFileURL(file).href);
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
  });
});

describe('unpack bounds (source.unpack)', () => {
  it('refuses a compression bomb by its ratio by default, leaving the root empty', async () => {
    const bomb = await zstdBomb(4 * 1024 ** 3, 16);
    server.set('/bomb/rootfs.tar.zst', bomb);
    const ctx = await ctxFor({ url: server.url('/bomb/rootfs.tar.zst'), checksum: `sha256:${sha256(bomb)}` });
    await expect(fetchSource(ctx)).rejects.toThrow(
      /200 times the archive's size at entry "zeros".*\(source.unpack.max_ratio raises the limit\)/,
    );
    expect(await readdir(ctx.rootfs)).toEqual([]);
  });

  it('keeps device nodes only when source.unpack.devices is true', async () => {
    const body = archives['rootfs.tar.gz']!;
    server.set('/devices/rootfs.tar.gz', body);
    const source = { url: server.url('/devices/rootfs.tar.gz'), checksum: `sha256:${sha256(body)}` };
    const dropped = await ctxFor(source);
    await fetchSource(dropped);
    expect(describeTree(dropped.rootfs)).toEqual(downloadedTree);
    const kept = await ctxFor({ ...source, unpack: { devices: true } });
    await fetchSource(kept);
    expect(describeTree(kept.rootfs)).toEqual(describeTree(tree));
  });

  it('takes its bounds from the definition: a raised ratio leaves max_size to stop it', async () => {
    const bomb = await zstdBomb(4 * 1024 ** 3, 16);
    server.set('/bomb2/rootfs.tar.zst', bomb);
    const ctx = await ctxFor({
      url: server.url('/bomb2/rootfs.tar.zst'),
      checksum: `sha256:${sha256(bomb)}`,
      unpack: { max_ratio: 1_000_000, max_size: '2G' },
    });
    await expect(fetchSource(ctx)).rejects.toThrow(
      /more than the 2147483648-byte limit at entry "zeros".*\(source.unpack.max_size raises the limit\)/,
    );
    expect(await readdir(ctx.rootfs)).toEqual([]);
  });
});

describe('downloads', () => {
  it('resumes with a Range request after the server cuts the connection halfway', async () => {
    const body = archives['rootfs.tar']!;
    server.set('/cut/rootfs.tar', body);
    server.cutAfter('/cut/rootfs.tar', Math.floor(body.length / 2));
    const ctx = await ctxFor({ url: server.url('/cut/rootfs.tar'), checksum: `sha256:${sha256(body)}` });
    await fetchSource(ctx);
    const gets = server.requestsFor('/cut/rootfs.tar', 'GET');
    expect(gets).toHaveLength(2);
    expect(gets[0]!.bytes).toBe(Math.floor(body.length / 2));
    // The retry asks for what is missing from the file on disk: what the server
    // wrote before the cut, less what the reset dropped in flight (none when idle,
    // tens of kilobytes on a loaded machine).
    const resumed = Number(/^bytes=(\d+)-$/.exec(String(gets[1]!.headers.range))?.[1]);
    expect(resumed).toBeGreaterThan(0);
    expect(resumed).toBeLessThanOrEqual(Math.floor(body.length / 2));
    expect(gets[1]!.status).toBe(206);
    expect(gets[1]!.bytes).toBe(body.length - resumed);
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
  });

  it('starts over when the file changed between the cut and the retry', async () => {
    const first = archives['rootfs.tar']!;
    server.set('/cut2/rootfs.tar.gz', Buffer.concat([first, first]));
    server.cutAfter('/cut2/rootfs.tar.gz', 1000);
    const body = archives['rootfs.tar.gz']!;
    const ctx = await ctxFor({ url: server.url('/cut2/rootfs.tar.gz'), checksum: `sha256:${sha256(body)}` });
    const fetching = fetchSource(ctx);
    // The retry comes after a backoff; swap the file while the client waits.
    await vi.waitFor(() => expect(server.requestsFor('/cut2/rootfs.tar.gz', 'GET')).toHaveLength(1), { interval: 10 });
    server.set('/cut2/rootfs.tar.gz', body);
    await fetching;
    const gets = server.requestsFor('/cut2/rootfs.tar.gz', 'GET');
    expect(gets.map((g) => [g.status, g.headers.range])).toEqual([
      [200, undefined],
      [200, 'bytes=1000-'],
    ]);
    expect(describeTree(ctx.rootfs)).toEqual(downloadedTree);
  });

  it('reports a missing file as a clear error', async () => {
    const ctx = await ctxFor({ url: server.url('/missing/rootfs.tar.gz'), checksum: `sha256:${'0'.repeat(64)}` });
    await expect(fetchSource(ctx)).rejects.toThrow(
      new SourceError(`${server.url('/missing/rootfs.tar.gz')}: HTTP 404 (not found)`),
    );
  });

  it('goes through http_proxy, and not for hosts in no_proxy', async () => {
    const proxy = await startForwardProxy();
    const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };
    try {
      server.set('/proxied/rootfs.tar.gz', archives['rootfs.tar.gz']!);
      process.env.http_proxy = proxy.url;
      delete process.env.no_proxy;
      const ctx = await ctxFor({
        url: server.url('/proxied/rootfs.tar.gz'),
        checksum: `sha256:${sha256(archives['rootfs.tar.gz']!)}`,
      });
      await fetchSource(ctx);
      expect(proxy.log).toEqual([`GET ${server.url('/proxied/rootfs.tar.gz')}`]);

      process.env.no_proxy = 'localhost,127.0.0.1';
      const ctx2 = await ctxFor({ url: server.url('/proxied/rootfs.tar.gz'), skip_verification: true });
      await fetchSource(ctx2);
      expect(proxy.log).toHaveLength(1);
      expect(server.requestsFor('/proxied/rootfs.tar.gz', 'GET')).toHaveLength(2);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await proxy.close();
    }
  });
});

describe('the download cache', () => {
  it('serves a verified file again without downloading it (checked on the server log)', async () => {
    const cache = path.join(work, 'cache-hit');
    publish('/cached', 'rootfs.tar.xz', archives['rootfs.tar.xz']!);
    const first = await ctxFor({ url: server.url('/cached/rootfs.tar.xz'), keys: [trusted.armored] }, cache);
    await fetchSource(first);
    expect(server.requestsFor('/cached/rootfs.tar.xz', 'GET')).toHaveLength(1);
    const second = await ctxFor({ url: server.url('/cached/rootfs.tar.xz'), keys: [trusted.armored] }, cache);
    const record = await fetchSource(second);
    // The sums file and its signature are fetched again; the tarball is not.
    expect(server.requestsFor('/cached/rootfs.tar.xz', 'GET')).toHaveLength(1);
    expect(server.requestsFor('/cached/SHA256SUMS', 'GET')).toHaveLength(2);
    expect(record.inputs[0]!.sha256).toBe(sha256(archives['rootfs.tar.xz']!));
    expect(describeTree(second.rootfs)).toEqual(downloadedTree);
  });

  it('downloads again when the upstream file changes under the same name', async () => {
    const cache = path.join(work, 'cache-change');
    publish('/latest', 'rootfs.tar.xz', archives['rootfs.tar.xz']!);
    await fetchSource(await ctxFor({ url: server.url('/latest/rootfs.tar.xz'), keys: [trusted.armored] }, cache));
    const changed = path.join(work, 'changed');
    await mkdir(changed);
    await writeFile(path.join(changed, 'release'), 'v2\n');
    gnuTar(changed, path.join(work, 'v2.tar.xz'), 'xz');
    const v2 = await readFile(path.join(work, 'v2.tar.xz'));
    publish('/latest', 'rootfs.tar.xz', v2);
    const ctx = await ctxFor({ url: server.url('/latest/rootfs.tar.xz'), keys: [trusted.armored] }, cache);
    const record = await fetchSource(ctx);
    expect(server.requestsFor('/latest/rootfs.tar.xz', 'GET')).toHaveLength(2);
    expect(record.inputs[0]!.sha256).toBe(sha256(v2));
    expect(await readFile(path.join(ctx.rootfs, 'release'), 'utf8')).toBe('v2\n');
  });

  it('revalidates an unsigned "latest" file with its ETag: 304 reuses, a change downloads', async () => {
    const cache = path.join(work, 'cache-etag');
    server.set('/etag/rootfs.tar.gz', archives['rootfs.tar.gz']!);
    const url = server.url('/etag/rootfs.tar.gz');
    await fetchSource(await ctxFor({ url, skip_verification: true }, cache));
    await fetchSource(await ctxFor({ url, skip_verification: true }, cache));
    let gets = server.requestsFor('/etag/rootfs.tar.gz', 'GET');
    expect(gets.map((g) => [g.status, g.bytes > 0])).toEqual([
      [200, true],
      [304, false],
    ]);
    expect(gets[1]!.headers['if-none-match']).toBe(
      gets[0] && `"${createHash('sha1').update(archives['rootfs.tar.gz']!).digest('hex')}"`,
    );

    server.set('/etag/rootfs.tar.gz', archives['rootfs.tar.zst']!);
    const ctx = await ctxFor({ url, skip_verification: true }, cache);
    const record = await fetchSource(ctx);
    gets = server.requestsFor('/etag/rootfs.tar.gz', 'GET');
    expect(gets.at(-1)!.status).toBe(200);
    expect(record.inputs[0]!.sha256).toBe(sha256(archives['rootfs.tar.zst']!));
  });

  it('downloads a file without validators every time rather than trusting a stale copy', async () => {
    const cache = path.join(work, 'cache-novalidators');
    server.set('/novalid/rootfs.tar', archives['rootfs.tar']!, { etag: false, lastModified: false });
    const url = server.url('/novalid/rootfs.tar');
    await fetchSource(await ctxFor({ url, skip_verification: true }, cache));
    await fetchSource(await ctxFor({ url, skip_verification: true }, cache));
    expect(server.requestsFor('/novalid/rootfs.tar', 'GET').map((g) => g.status)).toEqual([200, 200]);
  });

  it('lets two builds sharing a cache fetch the same file at once: one downloads, one reuses', async () => {
    const cache = path.join(work, 'cache-concurrent');
    const body = archives['rootfs.tar.xz']!;
    server.set('/both/rootfs.tar.xz', body);
    const source = { url: server.url('/both/rootfs.tar.xz'), checksum: `sha256:${sha256(body)}` };
    const [a, b] = [await ctxFor(source, cache), await ctxFor(source, cache)];
    await Promise.all([fetchSource(a), fetchSource(b)]);
    expect(server.requestsFor('/both/rootfs.tar.xz', 'GET')).toHaveLength(1);
    expect(describeTree(a.rootfs)).toEqual(describeTree(b.rootfs));
    expect(await readdir(path.join(cache, 'locks'))).toEqual([]);
  });
});
