import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { access, readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { VerificationError } from '../../src/source/index.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { runSource, sourceError } from './context.js';
import { busyboxRoot, MirrorTree, scratch, sha256, startMirror } from './fixtures.js';

const MiB = 1024 * 1024;

/**
 * An OpenWrt ext4 combined-EFI disk image: GPT with an ESP-typed boot
 * partition (1) and the ext4 root (2), gzip'd with a trailing signature
 * block as OpenWrt appends one (gzip -d exits 2 on it).
 */
function openwrtImage(release: string): Buffer {
  const s = scratch('openwrt');
  try {
    const root = path.join(s.dir, 'root');
    busyboxRoot(root, {
      'etc/openwrt_release': `DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='${release}'\n`,
      'bin/opkg': '#!/bin/sh\nexit 0\n',
    });
    execFileSync('chown', ['-h', '100:101', path.join(root, 'etc/openwrt_release')]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', root, '-E', 'root_owner=0:0', path.join(s.dir, 'root.ext4'), '6M'], {
      stdio: 'pipe',
    });
    execFileSync('mkfs.ext4', ['-q', '-F', path.join(s.dir, 'boot.ext4'), '1M'], { stdio: 'pipe' });
    const disk = path.join(s.dir, 'disk.img');
    execFileSync('truncate', ['-s', `${9 * MiB}`, disk]);
    execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], {
      input:
        'label: gpt\nstart=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=4096, size=12288, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const fd = openSync(disk, 'r+');
    try {
      writeSync(fd, readFileSync(path.join(s.dir, 'boot.ext4')), 0, MiB, 2048 * 512);
      const rootfs = readFileSync(path.join(s.dir, 'root.ext4'));
      writeSync(fd, rootfs, 0, rootfs.length, 4096 * 512);
    } finally {
      closeSync(fd);
    }
    return Buffer.concat([
      gzipSync(readFileSync(disk), { level: 1 }),
      Buffer.alloc(64, 0),
      Buffer.from('ucert signature block'),
    ]);
  } finally {
    s.remove();
  }
}

/** downloads.openwrt.org (lighttpd listings): releases/ with service releases, an rc and faillogs; snapshots/. */
function openwrtMirror(key: TestKey): { tree: MirrorTree; images: Map<string, Buffer> } {
  const tree = new MirrorTree('lighttpd');
  const images = new Map<string, Buffer>();
  const dirs: Array<[string, string, string]> = [
    ['23.05.4', '/releases/23.05.4/targets/x86/64', 'openwrt-23.05.4-x86-64'],
    ['23.05.5', '/releases/23.05.5/targets/x86/64', 'openwrt-23.05.5-x86-64'],
    ['snapshot', '/snapshots/targets/x86/64', 'openwrt-x86-64'],
  ];
  for (const [release, dir, prefix] of dirs) {
    const img = openwrtImage(release);
    images.set(release, img);
    const name = `${prefix}-generic-ext4-combined-efi.img.gz`;
    tree.add(`${dir}/${name}`, img);
    tree.add(`${dir}/${prefix}-generic-squashfs-combined-efi.img.gz`, 'other image\n');
    tree.add(`${dir}/${prefix}-rootfs.tar.gz`, 'rootfs\n');
    const sums = `${sha256(img)} *${name}\n${sha256('other image\n')} *${prefix}-generic-squashfs-combined-efi.img.gz\n`;
    tree.add(`${dir}/sha256sums`, sums);
    tree.add(`${dir}/sha256sums.asc`, key.detachSign(sums));
  }
  tree.add('/releases/23.05.0-rc1/targets/x86/64/sha256sums', 'x\n');
  tree.add('/releases/faillogs-23.05/index.txt', 'x\n');
  return { tree, images };
}

describe('openwrt-http', () => {
  let key: TestKey;
  let mirror: ReturnType<typeof openwrtMirror>;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = () => ({ downloader: 'openwrt-http', url: server.url('/'), keys: [key.armored] });
  const MAP = { architecture_map: 'openwrt' };

  beforeAll(async () => {
    key = makeTestKey('OpenWrt Test');
    mirror = openwrtMirror(key);
    server = await startMirror(mirror.tree);
    cache = scratch('openwrt-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    cache?.remove();
  });

  it('resolves X.Y to the newest service release and copies the ext4 root partition out of the verified image', async () => {
    const url = server.url('/releases/23.05.5/targets/x86/64/openwrt-23.05.5-x86-64-generic-ext4-combined-efi.img.gz');
    const record = await runSource(source(), { release: '23.05', mappings: MAP, cacheDir: cache.dir }, async (ctx) => {
      expect(await readFile(path.join(ctx.rootfs, 'etc/openwrt_release'), 'utf8')).toContain(
        "DISTRIB_RELEASE='23.05.5'",
      );
      expect(await readlink(path.join(ctx.rootfs, 'bin/sh'))).toBe('../bin/busybox');
      const st = await stat(path.join(ctx.rootfs, 'etc/openwrt_release'));
      expect([st.uid, st.gid]).toEqual([100, 101]);
      expect((await stat(path.join(ctx.rootfs, 'bin/busybox'))).mode & 0o777).toBe(0o755);
      await expect(access(path.join(ctx.rootfs, 'lost+found'))).rejects.toThrow();
      expect(await readdir(ctx.workDir)).toEqual([]);
    });
    expect(record.resolved).toEqual({ release: '23.05.5', target: 'x86/64', url });
    expect(record.inputs[0]).toMatchObject({
      url,
      sha256: sha256(mirror.images.get('23.05.5')!),
      verifiedBy: `gpg:${key.fingerprint}`,
    });
  });

  it('fetches snapshots from snapshots/targets/', async () => {
    const record = await runSource(
      source(),
      { release: 'snapshot', mappings: MAP, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/openwrt_release'), 'utf8')).toContain(
          "DISTRIB_RELEASE='snapshot'",
        );
      },
    );
    expect(record.resolved?.url).toBe(
      server.url('/snapshots/targets/x86/64/openwrt-x86-64-generic-ext4-combined-efi.img.gz'),
    );
  });

  it('fails on an image that does not match sha256sums and on a bad sha256sums.asc', async () => {
    const p = '/releases/23.05.5/targets/x86/64/openwrt-23.05.5-x86-64-generic-ext4-combined-efi.img.gz';
    const fresh = scratch('openwrt-fresh');
    try {
      server.set(p, mirror.images.get('23.05.4')!);
      const mismatch = await sourceError(source(), { release: '23.05.5', mappings: MAP, cacheDir: fresh.dir });
      expect(mismatch).toBeInstanceOf(VerificationError);
      expect(mismatch.message).toContain(`${server.url(p)}: sha256 mismatch`);
      mirror.tree.publish(server);
      server.set('/releases/23.05.5/targets/x86/64/sha256sums.asc', key.detachSign('forged'));
      const bad = await sourceError(source(), { release: '23.05.5', mappings: MAP, cacheDir: cache.dir });
      expect(bad.message).toBe(`${server.url('/releases/23.05.5/targets/x86/64/sha256sums.asc')}: BAD signature`);
    } finally {
      fresh.remove();
      mirror.tree.publish(server);
    }
  });

  it('names the missing image and the missing target', async () => {
    const err = await sourceError(source(), {
      release: '23.05.5',
      architecture: 'arm64',
      mappings: MAP,
      cacheDir: cache.dir,
    });
    expect(err.message).toContain(`${server.url('/releases/23.05.5/targets/armsr/armv8/sha256sums')}: not found`);
    const rel = await sourceError(source(), { release: '22.03', mappings: MAP, cacheDir: cache.dir });
    expect(rel.message).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/releases\/: no service release of 22\.03 \(22\.03\.N\/\) in the directory listing \(found 23\.05\.0-rc1\/, 23\.05\.4\/, 23\.05\.5\/, faillogs-23\.05\/\)/,
    );
  });
});
