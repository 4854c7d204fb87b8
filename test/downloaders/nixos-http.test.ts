import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import { nixosHttp } from '../../src/source/downloaders/nixos-http.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeSquashfs } from '../source/archives.js';
import { downloaderContext, runSource, sourceError } from './context.js';
import { busyboxRoot, MirrorTree, scratch, sha256, startMirror } from './fixtures.js';

const JOB = '/job/nixos/release-24.11/nixos.incusContainerImage.x86_64-linux/latest';
const NAME = 'nixos-image-lxc-24.11.713.f0a7db1-x86_64-linux.squashfs';

/**
 * Hydra: the job's `latest` redirects browsers to the build and answers
 * JSON when asked; the build JSON lists its products with sha256hash; the
 * product downloads from /build/<id>/download/<n>/<name>.
 */
async function hydra(squashfs: Buffer, hash = sha256(squashfs)): Promise<FixtureServer> {
  const build = {
    id: 283001,
    nixname: 'nixos-image-lxc-24.11.713.f0a7db1-x86_64-linux',
    finished: 1,
    buildstatus: 0,
    buildproducts: {
      '1': {
        name: NAME,
        subtype: 'squashfs-image',
        type: 'file',
        sha256hash: hash,
        filesize: squashfs.length,
        path: `/nix/store/abc-${NAME}`,
      },
      '2': { name: 'nix-support', subtype: 'doc', type: 'file' },
    },
  };
  const server = await startMirror(new MirrorTree('nginx').add(`/build/283001/download/1/${NAME}`, squashfs));
  const json = (res: import('node:http').ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  server.handle(JOB, (req, res) => {
    if (!String(req.headers.accept).includes('application/json')) {
      res.writeHead(302, { location: '/build/283001' });
      res.end();
      return;
    }
    json(res, build);
  });
  server.handle('/build/283001', (req, res) => {
    if (req.url?.startsWith('/build/283001/download/')) {
      const p = new URL(req.url, 'http://x').pathname;
      if (p === `/build/283001/download/1/${NAME}`) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(squashfs.length) });
        res.end(squashfs);
      } else {
        res.writeHead(404);
        res.end();
      }
      return;
    }
    json(res, build);
  });
  return server;
}

describe('nixos-http', () => {
  let squashfs: Buffer;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const url = () => server.url(`/build/283001/download/1/${NAME}`);

  beforeAll(async () => {
    const root = scratch('nixos-root');
    const out = scratch('nixos-image');
    try {
      busyboxRoot(root.dir, {
        'etc/os-release': 'NAME=NixOS\nID=nixos\nVERSION_ID="24.11"\n',
        'nix/store/.links/.keep': '',
      });
      makeSquashfs(root.dir, path.join(out.dir, NAME));
      squashfs = readFileSync(path.join(out.dir, NAME));
    } finally {
      root.remove();
      out.remove();
    }
    server = await hydra(squashfs);
    cache = scratch('nixos-cache');
  });
  afterAll(async () => {
    await server?.close();
    cache?.remove();
  });

  it("resolves Hydra's latest build of the release job and unpacks its squashfs, pinned by checksum", async () => {
    const record = await runSource(
      { downloader: 'nixos-http', url: server.url('/'), checksum: `sha256:${sha256(squashfs)}` },
      { release: '24.11', cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/os-release'), 'utf8')).toContain('ID=nixos');
        expect(await readlink(path.join(ctx.rootfs, 'sbin/init'))).toBe('../bin/busybox');
      },
    );
    expect(record.resolved).toEqual({
      release: '24.11',
      jobset: 'release-24.11',
      build: '283001',
      nixname: 'nixos-image-lxc-24.11.713.f0a7db1-x86_64-linux',
      architecture: 'x86_64',
      url: url(),
    });
    expect(record.inputs[0]).toEqual({
      url: url(),
      sha256: sha256(squashfs),
      size: squashfs.length,
      verifiedBy: 'checksum:sha256',
    });
  });

  it("checks Hydra's sha256 even with skip_verification", async () => {
    const record = await runSource(
      { downloader: 'nixos-http', url: server.url('/'), skip_verification: true },
      { release: '24.11', cacheDir: cache.dir },
    );
    expect(record.inputs[0]!.verifiedBy).toBe('sums-unsigned:sha256');
    const lying = await hydra(squashfs, '4'.repeat(64));
    const fresh = scratch('nixos-fresh');
    try {
      const err = await sourceError(
        { downloader: 'nixos-http', url: lying.url('/'), skip_verification: true },
        { release: '24.11', cacheDir: fresh.dir },
      );
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toContain(`${lying.url(`/build/283001/download/1/${NAME}`)}: sha256 mismatch`);
    } finally {
      fresh.remove();
      await lying.close();
    }
  });

  it('refuses keys (Hydra signs nothing) and an unpinned download', async () => {
    const keys = await sourceError(
      { downloader: 'nixos-http', url: server.url('/'), keys: ['0123456789ABCDEF0123456789ABCDEF01234567'] },
      { release: '24.11', cacheDir: cache.dir },
    );
    expect(keys.message).toMatch(/upstream publishes no OpenPGP signature for it/);
    const bare = await sourceError(
      { downloader: 'nixos-http', url: server.url('/') },
      { release: '24.11', cacheDir: cache.dir },
    );
    expect(bare.message).toMatch(/cannot be verified/);
  });

  it('identifies the build by its id without downloading the image', async () => {
    const ctx = await downloaderContext(
      { downloader: 'nixos-http', url: server.url('/'), skip_verification: true },
      { release: '24.11', cacheDir: cache.dir },
    );
    try {
      server.clearLog();
      expect((await nixosHttp.probe!(ctx))!.parts).toEqual({ [url()]: 'immutable' });
      expect(server.requests.map((r) => r.path)).toEqual([JOB]);
    } finally {
      await ctx.cleanup();
    }
  });

  it('names the job URL when Hydra has no build for the architecture', async () => {
    const err = await sourceError(
      { downloader: 'nixos-http', url: server.url('/'), skip_verification: true },
      { release: '24.11', architecture: 'arm64', cacheDir: cache.dir },
    );
    expect(err.message).toBe(
      `${server.url('/job/nixos/release-24.11/nixos.incusContainerImage.aarch64-linux/latest')}: not found (HTTP 404); Hydra has no finished build of this job`,
    );
  });
});
