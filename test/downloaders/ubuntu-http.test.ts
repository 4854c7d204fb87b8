import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import { ubuntuHttp } from '../../src/source/downloaders/ubuntu-http.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { downloaderContext, runSource, sourceError } from './context.js';
import { busyboxArchive, MirrorTree, scratch, sha256, startMirror } from './fixtures.js';

/**
 * cdimage's ubuntu-base tree (Apache autoindex): version directories
 * with codename directories beside them, two point releases in one
 * directory (24.04.10 must beat 24.04.9), SHA256SUMS + detached SHA256SUMS.gpg.
 */
function ubuntuMirror(key: TestKey): { tree: MirrorTree; tarballs: Map<string, Buffer> } {
  const tree = new MirrorTree('apache');
  const tarballs = new Map<string, Buffer>();
  for (const dirName of ['noble', '24.04']) {
    const dir = `/ubuntu-base/releases/${dirName}/release`;
    const sums: string[] = [];
    for (const version of ['24.04', '24.04.9', '24.04.10']) {
      for (const arch of ['amd64', 'arm64']) {
        const name = `ubuntu-base-${version}-base-${arch}.tar.gz`;
        const key2 = `${version}/${arch}`;
        const tgz =
          tarballs.get(key2) ??
          busyboxArchive(
            {
              'etc/lsb-release': `DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=${version}\nDISTRIB_CODENAME=noble\n`,
              'usr/bin/apt-get': '#!/bin/sh\nexit 0\n',
            },
            'gzip',
          );
        tarballs.set(key2, tgz);
        tree.add(`${dir}/${name}`, tgz);
        tree.add(`${dir}/${name}.manifest`, 'busybox 1.36\n');
        sums.push(`${sha256(tgz)} *${name}`);
      }
    }
    const text = `${sums.join('\n')}\n`;
    tree.add(`${dir}/SHA256SUMS`, text);
    tree.add(`${dir}/SHA256SUMS.gpg`, key.detachSign(text));
  }
  return { tree, tarballs };
}

describe('ubuntu-http', () => {
  let key: TestKey;
  let mirror: ReturnType<typeof ubuntuMirror>;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = () => ({ downloader: 'ubuntu-http', url: server.url('/ubuntu-base'), keys: [key.armored] });
  const dir = '/ubuntu-base/releases/noble/release';

  beforeAll(async () => {
    key = makeTestKey('Ubuntu Test');
    mirror = ubuntuMirror(key);
    server = await startMirror(mirror.tree);
    cache = scratch('ubuntu-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    cache?.remove();
  });

  it('resolves a codename to the newest point release and verifies it through the signed SHA256SUMS', async () => {
    const url = server.url(`${dir}/ubuntu-base-24.04.10-base-amd64.tar.gz`);
    const record = await runSource(
      source(),
      { release: 'noble', mappings: { architecture_map: 'debian' }, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/lsb-release'), 'utf8')).toContain('DISTRIB_RELEASE=24.04.10');
      },
    );
    expect(record.resolved).toEqual({ release: 'noble', version: '24.04.10', architecture: 'amd64', url });
    expect(record.inputs.map((i) => [i.url, i.verifiedBy])).toEqual([
      [url, `gpg:${key.fingerprint}`],
      [server.url(`${dir}/SHA256SUMS`), `gpg:${key.fingerprint}`],
      [server.url(`${dir}/SHA256SUMS.gpg`), `gpg:${key.fingerprint}`],
    ]);
    expect(record.inputs[0]!.sha256).toBe(sha256(mirror.tarballs.get('24.04.10/amd64')!));
  });

  it('maps arm64 without an architecture map and accepts a version directory', async () => {
    const record = await runSource(source(), { release: '24.04', architecture: 'aarch64', cacheDir: cache.dir });
    expect(record.resolved?.url).toBe(
      server.url('/ubuntu-base/releases/24.04/release/ubuntu-base-24.04.10-base-arm64.tar.gz'),
    );
  });

  it('identifies the point release by its fixed name', async () => {
    const ctx = await downloaderContext(source(), { release: 'noble', cacheDir: cache.dir });
    try {
      expect((await ubuntuHttp.probe!(ctx))!.parts).toEqual({
        [server.url(`${dir}/ubuntu-base-24.04.10-base-amd64.tar.gz`)]: 'immutable',
      });
    } finally {
      await ctx.cleanup();
    }
  });

  it('fails on a tarball that does not match the signed SHA256SUMS', async () => {
    const p = `${dir}/ubuntu-base-24.04.10-base-amd64.tar.gz`;
    server.set(p, mirror.tarballs.get('24.04.9/amd64')!);
    // A fresh cache: the shared one would serve the good bytes by digest without asking.
    const fresh = scratch('ubuntu-fresh');
    try {
      const err = await sourceError(source(), { release: 'noble', cacheDir: fresh.dir });
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toContain(`${server.url(p)}: sha256 mismatch`);
    } finally {
      fresh.remove();
      mirror.tree.publish(server);
    }
  });

  it('fails on a SHA256SUMS.gpg that does not cover SHA256SUMS', async () => {
    server.set(`${dir}/SHA256SUMS.gpg`, key.detachSign('another list'));
    try {
      const err = await sourceError(source(), { release: 'noble', cacheDir: cache.dir });
      expect(err.message).toBe(`${server.url(`${dir}/SHA256SUMS.gpg`)}: BAD signature`);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('names the missing SHA256SUMS.gpg and the missing release directory', async () => {
    server.delete(`${dir}/SHA256SUMS.gpg`);
    try {
      const err = await sourceError(source(), { release: 'noble', cacheDir: cache.dir });
      expect(err.message).toBe(
        `${server.url(`${dir}/SHA256SUMS.gpg`)}: not found (HTTP 404); it is the signature of ${server.url(`${dir}/SHA256SUMS`)}`,
      );
    } finally {
      mirror.tree.publish(server);
    }
    const gone = await sourceError(source(), { release: 'oracular', cacheDir: cache.dir });
    expect(gone.message).toContain(`${server.url('/ubuntu-base/releases/oracular/release/')}: not found`);
  });

  it('refuses the core variant', async () => {
    const err = await sourceError(source(), { release: 'noble', variant: 'core', cacheDir: cache.dir });
    expect(err.message).toMatch(/Ubuntu Core disk images are not supported/);
  });
});
