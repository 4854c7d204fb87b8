import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import { alpinelinuxHttp } from '../../src/source/downloaders/alpinelinux-http.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { downloaderContext, runSource, sourceError } from './context.js';
import { scratch, sha256, startMirror } from './fixtures.js';
import { alpineMirror, type AlpineMirror } from './mirrors/alpine.js';

const ALPINE_MAP = { architecture_map: 'alpinelinux' };

describe('alpinelinux-http', () => {
  let key: TestKey;
  let other: TestKey;
  let mirror: AlpineMirror;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = (extra: Record<string, unknown> = {}) => ({
    downloader: 'alpinelinux-http',
    url: server.url('/alpine/'),
    keys: [key.armored],
    ...extra,
  });

  beforeAll(async () => {
    key = makeTestKey('Alpine Test');
    other = makeTestKey('Someone Else');
    mirror = alpineMirror(key, { releases: { '3.21': ['3.21.9', '3.21.10'], '3.22': ['3.22.0'] } });
    server = await startMirror(mirror.tree);
    cache = scratch('alpine-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    other?.dispose();
    cache?.remove();
  });

  it('resolves X.Y to the newest X.Y.Z (numerically: .10 after .9), verifies the .asc and unpacks the minirootfs', async () => {
    const record = await runSource(
      source(),
      { release: '3.21', mappings: ALPINE_MAP, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/alpine-release'), 'utf8')).toBe('3.21.10\n');
        expect(await readlink(path.join(ctx.rootfs, 'bin/sh'))).toBe('../bin/busybox');
        expect(ctx.sink.events).toContainEqual(
          expect.objectContaining({
            type: 'log',
            level: 'info',
            message: expect.stringContaining('alpine-minirootfs-3.21.10-x86_64.tar.gz'),
          }),
        );
      },
    );
    const url = server.url('/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.10-x86_64.tar.gz');
    expect(record.resolved).toEqual({ release: '3.21.10', architecture: 'x86_64', url });
    expect(record.inputs[0]).toEqual({
      url,
      sha256: sha256(mirror.tarballs.get('3.21.10/x86_64')!),
      size: mirror.tarballs.get('3.21.10/x86_64')!.length,
      verifiedBy: `gpg:${key.fingerprint}`,
    });
  });

  it('uses aarch64 in the URL for arm64, which the alpinelinux map leaves as arm64', async () => {
    const record = await runSource(source(), {
      release: '3.22',
      architecture: 'arm64',
      mappings: ALPINE_MAP,
      cacheDir: cache.dir,
    });
    expect(record.resolved?.url).toBe(
      server.url('/alpine/v3.22/releases/aarch64/alpine-minirootfs-3.22.0-aarch64.tar.gz'),
    );
  });

  it('takes X.Y.Z as it is, without reading the listing', async () => {
    server.clearLog();
    const record = await runSource(source(), { release: '3.21.9', mappings: ALPINE_MAP, cacheDir: cache.dir });
    expect(record.resolved?.release).toBe('3.21.9');
    expect(server.requestsFor('/alpine/v3.21/releases/x86_64/')).toEqual([]);
  });

  it('builds edge from same_as, switches the repositories to edge and upgrades inside the container', async () => {
    await runSource(
      source({ same_as: '3.22' }),
      { release: 'edge', mappings: ALPINE_MAP, cacheDir: cache.dir },
      async (ctx, record) => {
        expect(record.resolved).toMatchObject({ release: '3.22.0', same_as: '3.22', upgraded_to: 'edge' });
        expect(await readFile(path.join(ctx.rootfs, 'etc/apk/repositories'), 'utf8')).toBe(
          'http://mirror.invalid/alpine/edge/main\nhttp://mirror.invalid/alpine/edge/community\n',
        );
        expect(await readFile(path.join(ctx.rootfs, 'var/log/apk-stub.log'), 'utf8')).toBe(
          'apk upgrade --update-cache --available\n',
        );
      },
    );
  });

  it('identifies a numbered release by its fixed name and edge by the .sha256 of its base', async () => {
    const numbered = await downloaderContext(source(), { release: '3.21', mappings: ALPINE_MAP, cacheDir: cache.dir });
    const edge = await downloaderContext(source({ same_as: '3.22' }), {
      release: 'edge',
      mappings: ALPINE_MAP,
      cacheDir: cache.dir,
    });
    try {
      const url = server.url('/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.10-x86_64.tar.gz');
      expect((await alpinelinuxHttp.probe!(numbered))!.parts).toEqual({ [url]: 'immutable' });
      const base = server.url('/alpine/v3.22/releases/x86_64/alpine-minirootfs-3.22.0-x86_64.tar.gz');
      const sums = mirror.tree.files.get(
        '/alpine/v3.22/releases/x86_64/alpine-minirootfs-3.22.0-x86_64.tar.gz.sha256',
      )!;
      expect((await alpinelinuxHttp.probe!(edge))!.parts).toEqual({
        [base]: `alpine-minirootfs-3.22.0-x86_64.tar.gz.sha256:sha256:${sha256(sums)}`,
      });
    } finally {
      await numbered.cleanup();
      await edge.cleanup();
    }
  });

  it('refuses edge without same_as', async () => {
    const err = await sourceError(source(), { release: 'edge', mappings: ALPINE_MAP, cacheDir: cache.dir });
    expect(err.message).toMatch(/source\.same_as: Alpine edge is built from a numbered release/);
  });

  it('fails on a tarball that does not match its .sha256 (skip_verification still checks integrity)', async () => {
    const p = '/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.9-x86_64.tar.gz';
    server.set(`${p}.sha256`, `${'0'.repeat(64)}  alpine-minirootfs-3.21.9-x86_64.tar.gz\n`);
    try {
      const err = await sourceError(
        { downloader: 'alpinelinux-http', url: server.url('/alpine'), skip_verification: true },
        { release: '3.21.9', cacheDir: cache.dir },
      );
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toContain(`${server.url(p)}: sha256 mismatch`);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('fails on a bad signature and on a signature by a key not in source.keys', async () => {
    const p = '/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.10-x86_64.tar.gz';
    server.set(`${p}.asc`, key.detachSign('something else'));
    try {
      const bad = await sourceError(source(), { release: '3.21', cacheDir: cache.dir });
      expect(bad).toBeInstanceOf(VerificationError);
      expect(bad.message).toBe(`${server.url(p)}.asc: BAD signature`);
      server.set(`${p}.asc`, other.detachSign(mirror.tarballs.get('3.21.10/x86_64')!));
      const unknown = await sourceError(source(), { release: '3.21', cacheDir: cache.dir });
      expect(unknown.message).toMatch(/signed by unknown key .* \(not in source\.keys\)/);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('names the missing URL when the release has no tarball', async () => {
    const err = await sourceError(source(), { release: '3.21.5', cacheDir: cache.dir });
    expect(err.message).toContain(server.url('/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.5-x86_64.tar.gz'));
    expect(err.message).toMatch(/not found/);
  });

  it('names the listing and what it offered when no release matches', async () => {
    const err = await sourceError(source(), { release: '3.19', cacheDir: cache.dir });
    expect(err.message).toContain(`${server.url('/alpine/v3.19/releases/x86_64/')}: not found`);
    const none = await sourceError(source(), { release: '3.22', architecture: 'riscv64', cacheDir: cache.dir });
    expect(none.message).toContain(server.url('/alpine/v3.22/releases/riscv64/'));
  });

  it('refuses to download unverified without keys, checksum or skip_verification', async () => {
    const err = await sourceError(
      { downloader: 'alpinelinux-http', url: server.url('/alpine') },
      { release: '3.21', cacheDir: cache.dir },
    );
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toMatch(/cannot be verified: set source\.keys/);
  });
});
