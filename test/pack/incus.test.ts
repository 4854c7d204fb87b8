import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packImage } from '../../src/pack/index.js';
import type { PackResult } from '../../src/pack/types.js';
import { makeBusyboxRoot, packInput, SDE } from './fixtures.js';
import { treeListing, withSquashfsMount } from './helpers.js';

describe('Incus/LXD output', () => {
  let dir: string;
  let root: string;
  let out: string;
  let result: PackResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pack-incus-'));
    root = join(dir, 'root');
    out = join(dir, 'out');
    mkdirSync(root);
    mkdirSync(out);
    makeBusyboxRoot(root);
    result = await packImage(packInput(root, out, { formats: ['lxc', 'incus', 'unified'] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rootfs.squashfs mounts with the same files, modes, owners, symlinks and devices as the root', async () => {
    await withSquashfsMount(join(out, 'rootfs.squashfs'), join(dir, 'mnt'), (mnt) => {
      expect(treeListing(mnt)).toEqual(treeListing(root));
      expect(statSync(mnt).mode & 0o7777).toBe(statSync(root).mode & 0o7777);
      expect(statSync(join(mnt, 'usr/bin/su-helper')).mode & 0o7777).toBe(0o4755);
      expect(statSync(join(mnt, 'usr/bin/first')).ino).toBe(statSync(join(mnt, 'usr/bin/second')).ino);
      expect(statSync(join(mnt, 'tmp/owned')).uid).toBe(1234);
      expect(statSync(join(mnt, 'etc/hostname')).mtimeMs).toBe(1000 * 1000);
      expect(statSync(join(mnt, 'bin/busybox')).mtimeMs).toBe(SDE * 1000);
      const attrs = execFileSync(
        'getfattr',
        ['--absolute-names', '-d', '-m', '-', '-e', 'hex', join(mnt, 'etc/labelled'), join(mnt, 'usr/bin/su-helper')],
        {
          encoding: 'utf8',
        },
      );
      expect(attrs).toContain('user.kiln=0x68656c6c6f');
      expect(attrs).toContain('security.capability=0x0100000200200000000000000000000000000000');
      expect(readFileSync(join(mnt, 'var/lib/big.bin')).equals(readFileSync(join(root, 'var/lib/big.bin')))).toBe(true);
    });
  });

  it('incus.tar.xz holds metadata.yaml with every field and the templates/ directory', () => {
    const names = execFileSync('tar', ['-tf', join(out, 'incus.tar.xz')], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(names).toEqual(['metadata.yaml', 'templates/', 'templates/hostname.tpl']);
    const meta = parse(
      execFileSync('tar', ['-xOJf', join(out, 'incus.tar.xz'), 'metadata.yaml'], { encoding: 'utf8' }),
    );
    expect(meta).toEqual({
      architecture: 'x86_64',
      creation_date: SDE,
      expiry_date: SDE + 30 * 86400,
      properties: {
        architecture: 'amd64',
        description: 'Busybox 1.36 x86_64 (20240101_0000)',
        name: 'busybox-1.36-x86_64-default-20240101_0000',
        os: 'busybox',
        release: '1.36',
        serial: '20240101_0000',
        variant: 'default',
      },
      templates: {
        '/etc/hostname': {
          when: ['create', 'copy'],
          create_only: false,
          template: 'hostname.tpl',
          properties: { default: 'busybox' },
        },
      },
    });
    const tpl = execFileSync('tar', ['-xOJf', join(out, 'incus.tar.xz'), 'templates/hostname.tpl'], {
      encoding: 'utf8',
    });
    expect(tpl).toBe('{{ instance.name }}\n');
  });

  it('the unified tarball has metadata.yaml, rootfs/ and templates/ at its top, as Incus imports it', () => {
    const file = join(out, 'busybox-1.36-x86_64-default-20240101_0000.tar.xz');
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names[0]).toBe('metadata.yaml');
    expect(names[1]).toBe('rootfs/');
    expect(names.at(-1)).toBe('templates/hostname.tpl');
    expect(new Set(names.map((n) => n.split('/')[0]))).toEqual(new Set(['metadata.yaml', 'rootfs', 'templates']));
    const extracted = join(dir, 'unified');
    mkdirSync(extracted);
    execFileSync('tar', ['--numeric-owner', '-xpJf', file, '-C', extracted]);
    expect(treeListing(join(extracted, 'rootfs'))).toEqual(treeListing(root));
    expect(readFileSync(join(extracted, 'metadata.yaml'), 'utf8')).toBe(
      execFileSync('tar', ['-xOJf', join(out, 'incus.tar.xz'), 'metadata.yaml'], { encoding: 'utf8' }),
    );
  });

  it('rootfs.tar.xz extracts with GNU tar to the same tree, xattrs included', () => {
    const extracted = join(dir, 'lxc');
    mkdirSync(extracted);
    execFileSync('tar', [
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=*',
      '-xpJf',
      join(out, 'rootfs.tar.xz'),
      '-C',
      extracted,
    ]);
    expect(treeListing(extracted)).toEqual(treeListing(root));
    const attrs = execFileSync(
      'getfattr',
      ['--absolute-names', '-d', '-m', '-', '-e', 'hex', join(extracted, 'usr/bin/su-helper')],
      { encoding: 'utf8' },
    );
    expect(attrs).toContain('security.capability=0x0100000200200000000000000000000000000000');
    expect(statSync(join(extracted, 'usr/bin/first')).ino).toBe(statSync(join(extracted, 'usr/bin/second')).ino);
  });

  it('returns the simplestreams combined fingerprints: sha256 of incus.tar.xz bytes then the rootfs bytes', () => {
    const cat = (a: string, b: string) =>
      createHash('sha256')
        .update(readFileSync(join(out, a)))
        .update(readFileSync(join(out, b)))
        .digest('hex');
    expect(result.fingerprints.combined_squashfs_sha256).toBe(cat('incus.tar.xz', 'rootfs.squashfs'));
    expect(result.fingerprints.combined_rootxz_sha256).toBe(cat('incus.tar.xz', 'rootfs.tar.xz'));
    expect(result.fingerprints.combined_sha256).toBe(result.fingerprints.combined_rootxz_sha256);
    for (const a of result.artifacts) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(out, a.name)))
          .digest('hex'),
      ).toBe(a.sha256);
      expect(statSync(join(out, a.name)).size).toBe(a.size);
    }
    expect(result.artifacts.map((a) => a.role).sort()).toEqual(
      ['checksums', 'definition', 'incus.meta', 'lxc.meta', 'lxc.rootfs', 'sbom', 'squashfs', 'unified'].sort(),
    );
  });
});
