import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { runSource, sourceError } from './context.js';
import { scratch, sha256, startMirror } from './fixtures.js';
import { opensuseMirror, type OpensuseMirror } from './mirrors/opensuse.js';

const TW = '/repositories/Virtualization:/containers:/images:/openSUSE-Tumbleweed';

describe('opensuse-http', () => {
  let key: TestKey;
  let mirror: OpensuseMirror;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = (extra: Record<string, unknown> = {}) => ({
    downloader: 'opensuse-http',
    url: server.url('/download'),
    keys: [key.armored],
    ...extra,
  });

  beforeAll(async () => {
    key = makeTestKey('openSUSE Test');
    mirror = opensuseMirror(key);
    const tree = mirror.tree;
    // MirrorCache serves under /download.
    const moved = [...tree.files.entries()];
    tree.files.clear();
    for (const [p, c] of moved) tree.add(`/download${p}`, c);
    server = await startMirror(tree);
    cache = scratch('suse-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    cache?.remove();
  });

  it('picks the newest Tumbleweed build (numerically) and verifies its clearsigned .sha256', async () => {
    const url = server.url(`/download${TW}/container/opensuse-tumbleweed-image.x86_64-1.0.0-lxc-Build10.2.tar.xz`);
    const record = await runSource(source(), { release: 'tumbleweed', cacheDir: cache.dir }, async (ctx) => {
      expect(await readFile(path.join(ctx.rootfs, 'etc/os-release'), 'utf8')).toContain('BUILD="10.2"');
    });
    expect(record.resolved).toEqual({ release: 'tumbleweed', architecture: 'x86_64', build: '10.2', url });
    expect(record.inputs[0]).toMatchObject({
      url,
      sha256: sha256(mirror.tarballs.get('tumbleweed/x86_64')!),
      verifiedBy: `gpg:${key.fingerprint}`,
    });
  });

  it('uses the container_ARM repository for arm64 and the appliances directory for Leap', async () => {
    const arm = await runSource(source(), { release: 'tumbleweed', architecture: 'arm64', cacheDir: cache.dir });
    expect(arm.resolved?.url).toBe(
      server.url(`/download${TW}/container_ARM/opensuse-tumbleweed-image.aarch64-1.0.0-lxc-Build10.2.tar.xz`),
    );
    const leap = await runSource(source(), { release: '16.0', cacheDir: cache.dir });
    expect(leap.resolved?.url).toBe(
      server.url('/download/distribution/leap/16.0/appliances/opensuse-leap-image.x86_64-16.0.0-lxc-Build10.2.tar.xz'),
    );
  });

  it('does not fall back to an unsigned .sha256 when keys are set', async () => {
    const p = `/download${TW}/container/opensuse-tumbleweed-image.x86_64-1.0.0-lxc-Build10.2.tar.xz.sha256`;
    server.set(
      p,
      `${sha256(mirror.tarballs.get('tumbleweed/x86_64')!)}  opensuse-tumbleweed-image.x86_64-1.0.0-lxc-Build10.2.tar.xz\n`,
    );
    try {
      const err = await sourceError(source(), { release: 'tumbleweed', cacheDir: cache.dir });
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toBe(
        `${server.url(p)}: expected a clearsigned checksum list but it is not signed; kiln does not fall back to unsigned checksums`,
      );
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('fails on a tampered clearsigned .sha256 (bad signature) and on a tarball that does not match it (bad checksum)', async () => {
    const name = 'opensuse-tumbleweed-image.x86_64-1.0.0-lxc-Build10.2.tar.xz';
    const p = `/download${TW}/container/${name}`;
    const signed = key.clearsign(`${sha256(mirror.tarballs.get('tumbleweed/x86_64')!)}  ${name}\n`).toString();
    server.set(
      `${p}.sha256`,
      signed.replace(/^([0-9a-f])/m, (c) => (c === '0' ? '1' : '0')),
    );
    try {
      const bad = await sourceError(source(), { release: 'tumbleweed', cacheDir: cache.dir });
      expect(bad.message).toBe(`${server.url(p)}.sha256: BAD signature`);
      server.set(`${p}.sha256`, key.clearsign(`${'3'.repeat(64)}  ${name}\n`));
      const mismatch = await sourceError(source(), { release: 'tumbleweed', cacheDir: cache.dir });
      expect(mismatch).toBeInstanceOf(VerificationError);
      expect(mismatch.message).toContain(`${server.url(p)}: sha256 mismatch`);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('names the listing when a Leap release has no appliances and the .sha256 URL when it is missing', async () => {
    const err = await sourceError(source(), { release: '15.9', cacheDir: cache.dir });
    expect(err.message).toContain(`${server.url('/download/distribution/leap/15.9/appliances/')}: not found`);
    const p = `/download${TW}/container/opensuse-tumbleweed-image.x86_64-1.0.0-lxc-Build10.2.tar.xz.sha256`;
    server.delete(p);
    try {
      const missing = await sourceError(source(), { release: 'tumbleweed', cacheDir: cache.dir });
      expect(missing.message).toContain(`${server.url(p)}: not found`);
    } finally {
      mirror.tree.publish(server);
    }
  });
});
