import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { runSource, sourceError } from './context.js';
import { busyboxArchive, MirrorTree, scratch, sha256, startMirror } from './fixtures.js';

/**
 * Void's live/current/ (lighttpd mod_dirlisting, as repo-default serves it):
 * ROOTFS tarballs per arch and libc for two dates, ISOs and PLATFORMFS
 * beside them, a BSD-style sha256sum.txt and its detached sha256sum.sig.
 */
function voidMirror(key: TestKey): { tree: MirrorTree; tarballs: Map<string, Buffer> } {
  const tree = new MirrorTree('lighttpd');
  const tarballs = new Map<string, Buffer>();
  const sums: string[] = [];
  for (const date of ['20240314', '20250202']) {
    for (const flavour of ['x86_64', 'x86_64-musl', 'aarch64']) {
      const name = `void-${flavour}-ROOTFS-${date}.tar.xz`;
      const txz = busyboxArchive(
        {
          'etc/os-release': `NAME="Void"\nID="void"\nBUILD_ID="${flavour} ${date}"\n`,
          'usr/bin/xbps-install': '#!/bin/sh\nexit 0\n',
        },
        'xz',
      );
      tarballs.set(`${flavour}/${date}`, txz);
      tree.add(`/live/current/${name}`, txz);
      sums.push(`SHA256 (${name}) = ${sha256(txz)}`);
      tree.add(`/live/current/void-live-${flavour}-${date}-base.iso`, 'iso\n');
    }
    tree.add(`/live/current/void-rpi-aarch64-PLATFORMFS-${date}.tar.xz`, 'platformfs\n');
  }
  const text = `${sums.join('\n')}\n`;
  tree.add('/live/current/sha256sum.txt', text);
  tree.add('/live/current/sha256sum.sig', key.detachSign(text));
  return { tree, tarballs };
}

describe('voidlinux-http', () => {
  let key: TestKey;
  let mirror: ReturnType<typeof voidMirror>;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = (extra: Record<string, unknown> = {}) => ({
    downloader: 'voidlinux-http',
    url: server.url('/live/current'),
    keys: [key.armored],
    ...extra,
  });
  const MAP = { architecture_map: 'voidlinux' };

  beforeAll(async () => {
    key = makeTestKey('Void Test');
    mirror = voidMirror(key);
    server = await startMirror(mirror.tree);
    cache = scratch('void-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    cache?.remove();
  });

  it('picks the newest ROOTFS for the architecture and verifies it through the signed sha256sum.txt', async () => {
    const url = server.url('/live/current/void-x86_64-ROOTFS-20250202.tar.xz');
    const record = await runSource(
      source(),
      { release: 'current', mappings: MAP, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/os-release'), 'utf8')).toContain('BUILD_ID="x86_64 20250202"');
      },
    );
    expect(record.resolved).toEqual({ date: '20250202', architecture: 'x86_64', url });
    expect(record.inputs[0]).toMatchObject({
      url,
      sha256: sha256(mirror.tarballs.get('x86_64/20250202')!),
      verifiedBy: `gpg:${key.fingerprint}`,
    });
  });

  it('takes the musl variant from source.variant and aarch64 for arm64', async () => {
    const musl = await runSource(source({ variant: 'musl' }), {
      release: 'current',
      mappings: MAP,
      cacheDir: cache.dir,
    });
    expect(musl.resolved).toMatchObject({
      variant: 'musl',
      url: server.url('/live/current/void-x86_64-musl-ROOTFS-20250202.tar.xz'),
    });
    const arm = await runSource(source(), {
      release: 'current',
      architecture: 'arm64',
      mappings: MAP,
      cacheDir: cache.dir,
    });
    expect(arm.resolved?.url).toBe(server.url('/live/current/void-aarch64-ROOTFS-20250202.tar.xz'));
  });

  it('fails on a tarball that does not match sha256sum.txt and on a bad sha256sum.sig', async () => {
    const p = '/live/current/void-x86_64-ROOTFS-20250202.tar.xz';
    server.set(p, mirror.tarballs.get('x86_64/20240314')!);
    const fresh = scratch('void-fresh');
    try {
      const err = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: fresh.dir });
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toContain(`${server.url(p)}: sha256 mismatch`);
      mirror.tree.publish(server);
      server.set('/live/current/sha256sum.sig', key.detachSign('not the list'));
      const sig = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: cache.dir });
      expect(sig.message).toBe(`${server.url('/live/current/sha256sum.sig')}: BAD signature`);
    } finally {
      fresh.remove();
      mirror.tree.publish(server);
    }
  });

  it('names the listing when there is no ROOTFS for the architecture, and the missing sums URL', async () => {
    const none = await sourceError(source(), {
      release: 'current',
      architecture: 'armhf',
      mappings: MAP,
      cacheDir: cache.dir,
    });
    expect(none.message).toMatch(
      new RegExp(
        `^${server.url('/live/current/')}: no Void ROOTFS tarball for armv7l .*the upstream layout may have changed$`,
      ),
    );
    server.delete('/live/current/sha256sum.txt');
    try {
      const err = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: cache.dir });
      expect(err.message).toContain(`${server.url('/live/current/sha256sum.txt')}: not found`);
    } finally {
      mirror.tree.publish(server);
    }
  });
});
