import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import { archlinuxHttp } from '../../src/source/downloaders/archlinux-http.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { downloaderContext, runSource, sourceError } from './context.js';
import { scratch, sha256, startMirror } from './fixtures.js';
import { archMirror, type ArchMirror } from './mirrors/archlinux.js';

const MAP = { architecture_map: 'archlinux' };

describe('archlinux-http', () => {
  let key: TestKey;
  let mirror: ArchMirror;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = (extra: Record<string, unknown> = {}) => ({
    downloader: 'archlinux-http',
    url: server.url('/iso/'),
    keys: [key.armored],
    ...extra,
  });

  beforeAll(async () => {
    key = makeTestKey('Arch Test');
    mirror = archMirror(key);
    server = await startMirror(mirror.tree);
    cache = scratch('arch-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    cache?.remove();
  });

  it('resolves current to the newest dated bootstrap, verifies its .sig and hoists root.x86_64/', async () => {
    const url = server.url('/iso/2025.01.01/archlinux-bootstrap-2025.01.01-x86_64.tar.zst');
    const record = await runSource(
      source(),
      { release: 'current', mappings: MAP, cacheDir: cache.dir },
      async (ctx) => {
        const top = (await readdir(ctx.rootfs)).sort();
        expect(top).not.toContain('root.x86_64');
        expect(top).toEqual(expect.arrayContaining(['bin', 'etc', 'usr', 'version']));
        expect(await readFile(path.join(ctx.rootfs, 'version'), 'utf8')).toBe('2025.01.01\n');
        expect(top.filter((n) => n.startsWith('.kiln'))).toEqual([]);
      },
    );
    expect(record.resolved).toEqual({ release: '2025.01.01', architecture: 'x86_64', url });
    expect(record.inputs[0]).toMatchObject({
      url,
      sha256: sha256(mirror.tarballs.get('2025.01.01')!),
      verifiedBy: `gpg:${key.fingerprint}`,
    });
    expect(record.inputs[1]).toMatchObject({ url: `${url}.sig` });
  });

  it('takes a dated release as it is, including the .tar.gz era', async () => {
    const record = await runSource(
      source(),
      { release: '2022.01.01', mappings: MAP, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'version'), 'utf8')).toBe('2022.01.01\n');
      },
    );
    expect(record.resolved?.url).toBe(server.url('/iso/2022.01.01/archlinux-bootstrap-2022.01.01-x86_64.tar.gz'));
  });

  it('fetches Arch Linux ARM for arm64 without hoisting', async () => {
    const record = await runSource(
      source(),
      { release: 'current', architecture: 'arm64', mappings: MAP, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'version'), 'utf8')).toBe('arm\n');
      },
    );
    expect(record.resolved?.url).toBe(server.url('/iso/os/ArchLinuxARM-aarch64-latest.tar.gz'));
  });

  it('identifies a dated bootstrap by its fixed URL, reading only the listing', async () => {
    const ctx = await downloaderContext(source(), { release: 'current', mappings: MAP, cacheDir: cache.dir });
    try {
      server.clearLog();
      const id = await archlinuxHttp.probe!(ctx);
      const url = server.url('/iso/2025.01.01/archlinux-bootstrap-2025.01.01-x86_64.tar.zst');
      expect(id!.parts).toEqual({ [url]: 'immutable' });
      expect(server.requests.map((r) => r.path)).toEqual(['/iso/', '/iso/2025.01.01/']);
    } finally {
      await ctx.cleanup();
    }
  });

  it('fails when the bootstrap does not match a pinned checksum', async () => {
    const err = await sourceError(
      { downloader: 'archlinux-http', url: server.url('/iso'), checksum: `sha256:${'1'.repeat(64)}` },
      { release: '2025.01.01', mappings: MAP, cacheDir: cache.dir },
    );
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toContain('archlinux-bootstrap-2025.01.01-x86_64.tar.zst: sha256 mismatch');
  });

  it('fails on a bad .sig', async () => {
    const p = '/iso/2025.01.01/archlinux-bootstrap-2025.01.01-x86_64.tar.zst';
    server.set(`${p}.sig`, key.detachSign('tampered'));
    try {
      const err = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: cache.dir });
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toBe(`${server.url(p)}.sig: BAD signature`);
    } finally {
      mirror.tree.publish(server);
    }
  });

  it('names the listing and what it had when a date has no bootstrap', async () => {
    server.set(
      '/iso/2025.02.01/',
      '<html><body><pre><a href="../">../</a>\n<a href="archlinux-2025.02.01-x86_64.iso">archlinux-2025.02.01-x86_64.iso</a>\n</pre></body></html>',
    );
    try {
      const err = await sourceError(source(), { release: '2025.02.01', mappings: MAP, cacheDir: cache.dir });
      expect(err.message).toBe(
        `${server.url('/iso/2025.02.01/')}: no bootstrap tarball (archlinux-bootstrap-2025.02.01-x86_64.tar.zst) in the directory listing (found archlinux-2025.02.01-x86_64.iso); the upstream layout may have changed`,
      );
    } finally {
      server.delete('/iso/2025.02.01/');
    }
  });

  it('names the missing signature URL', async () => {
    const p = '/iso/os/ArchLinuxARM-aarch64-latest.tar.gz.sig';
    server.delete(p);
    try {
      const err = await sourceError(source(), {
        release: 'current',
        architecture: 'arm64',
        mappings: MAP,
        cacheDir: cache.dir,
      });
      expect(err.message).toContain(`${server.url(p)}: not found`);
    } finally {
      mirror.tree.publish(server);
    }
  });
});
