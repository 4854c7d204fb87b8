import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SourceError, VerificationError } from '../../src/source/index.js';
import { fedoraHttp } from '../../src/source/downloaders/fedora-http.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { downloaderContext, runSource, sourceError } from './context.js';
import { scratch, sha256, startMirror } from './fixtures.js';
import { fedoraMirror, type FedoraMirror } from './mirrors/fedora.js';
import { ociArchive } from './mirrors/oci.js';

describe('fedora-http', () => {
  let mirror: FedoraMirror;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const image = (release: string, arch = 'x86_64') => mirror.images.get(`${release}/${arch}`)!;
  const pinned = (release: string, arch = 'x86_64') => ({
    downloader: 'fedora-http',
    url: server.url('/'),
    checksum: `sha256:${sha256(image(release, arch).archive)}`,
  });

  beforeAll(async () => {
    mirror = await fedoraMirror(['42']);
    server = await startMirror(mirror.tree);
    cache = scratch('fedora-cache');
  });
  afterAll(async () => {
    await server?.close();
    cache?.remove();
  });

  it('finds the newest Koji build, checks the OCI layout blob by blob and applies the layers with whiteouts', async () => {
    const url = server.url(
      '/packages/Fedora-Container-Base-Generic/42/20250115.0/images/Fedora-Container-Base-Generic-42-20250115.0.x86_64.oci.tar.xz',
    );
    const record = await runSource(pinned('42'), { release: '42', cacheDir: cache.dir }, async (ctx) => {
      expect(await readFile(path.join(ctx.rootfs, 'etc/fedora-release'), 'utf8')).toBe(
        'Fedora release 42 (20250115.0)\n',
      );
      await expect(access(path.join(ctx.rootfs, 'etc/motd'))).rejects.toThrow();
      await expect(access(path.join(ctx.rootfs, 'etc/.wh.motd'))).rejects.toThrow();
      expect((await readFile(path.join(ctx.rootfs, 'bin/busybox'))).length).toBeGreaterThan(100_000);
    });
    expect(record.resolved).toEqual({
      release: '42',
      build: '20250115.0',
      architecture: 'x86_64',
      manifest_digest: image('42').manifestDigest,
      url,
    });
    expect(record.inputs).toEqual([
      { url, sha256: sha256(image('42').archive), size: image('42').archive.length, verifiedBy: 'checksum:sha256' },
    ]);
  });

  it('picks the aarch64 image for arm64', async () => {
    const record = await runSource(pinned('42', 'aarch64'), {
      release: '42',
      architecture: 'arm64',
      cacheDir: cache.dir,
    });
    expect(record.resolved?.url).toMatch(/\.aarch64\.oci\.tar\.xz$/);
  });

  it('identifies the build by its immutable URL without downloading it', async () => {
    const ctx = await downloaderContext(pinned('42'), { release: '42', cacheDir: cache.dir });
    try {
      const id = await fedoraHttp.probe!(ctx);
      expect(Object.values(id!.parts)).toEqual(['immutable']);
      expect(Object.keys(id!.parts)[0]).toMatch(/20250115\.0\.x86_64\.oci\.tar\.xz$/);
    } finally {
      await ctx.cleanup();
    }
  });

  it('refuses an unverifiable image: Koji publishes no signature, so a checksum or skip_verification is needed', async () => {
    const err = await sourceError(
      { downloader: 'fedora-http', url: server.url('/') },
      { release: '42', cacheDir: cache.dir },
    );
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toMatch(/oci\.tar\.xz cannot be verified: set source\.keys .*source\.checksum/);
    const keys = await sourceError(
      { downloader: 'fedora-http', url: server.url('/'), keys: ['0123456789ABCDEF0123456789ABCDEF01234567'] },
      { release: '42', cacheDir: cache.dir },
    );
    expect(keys.message).toMatch(/upstream publishes no OpenPGP signature for it/);
  });

  it('fails on a wrong checksum and on a layer that does not match its digest', async () => {
    const bad = await sourceError(
      { ...pinned('42'), checksum: `sha256:${'2'.repeat(64)}` },
      { release: '42', cacheDir: cache.dir },
    );
    expect(bad).toBeInstanceOf(VerificationError);
    expect(bad.message).toMatch(/oci\.tar\.xz: sha256 mismatch/);
    const corrupt = await ociArchive({ 'etc/fedora-release': 'x\n' }, { corruptLayer: true });
    const p =
      '/packages/Fedora-Container-Base-Generic/42/20250115.0/images/Fedora-Container-Base-Generic-42-20250115.0.x86_64.oci.tar.xz';
    server.set(p, corrupt.archive);
    try {
      const err = await sourceError(
        { downloader: 'fedora-http', url: server.url('/'), checksum: `sha256:${sha256(corrupt.archive)}` },
        { release: '42', cacheDir: cache.dir },
      );
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toMatch(/: blob sha256:[0-9a-f]{64} is \d+ bytes, its descriptor says \d+/);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('refuses an OCI image for another architecture', async () => {
    const wrong = await ociArchive({ 'etc/fedora-release': 'x\n' }, { architecture: 'arm64' });
    const p =
      '/packages/Fedora-Container-Base-Generic/42/20250115.0/images/Fedora-Container-Base-Generic-42-20250115.0.x86_64.oci.tar.xz';
    server.set(p, wrong.archive);
    try {
      const err = await sourceError(
        { downloader: 'fedora-http', url: server.url('/'), checksum: `sha256:${sha256(wrong.archive)}` },
        { release: '42', cacheDir: cache.dir },
      );
      expect(err).toBeInstanceOf(SourceError);
      expect(err.message).toMatch(/the image is for arm64, but image.architecture amd64 needs amd64/);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('names the missing image URL when the newest build lacks the architecture', async () => {
    const err = await sourceError(
      { downloader: 'fedora-http', url: server.url('/'), skip_verification: true },
      { release: '42', architecture: 's390x', cacheDir: cache.dir },
    );
    expect(err.message).toBe(
      `${server.url('/packages/Fedora-Container-Base-Generic/42/20250115.0/images/Fedora-Container-Base-Generic-42-20250115.0.s390x.oci.tar.xz')}: HTTP 404 (not found)`,
    );
  });

  it('names the listing when the release has no builds', async () => {
    const err = await sourceError(pinned('42'), { release: '99', cacheDir: cache.dir });
    expect(err.message).toContain(`${server.url('/packages/Fedora-Container-Base-Generic/99/')}: not found`);
  });
});
