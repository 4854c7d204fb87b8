import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, mkdir, readdir, rm, writeFile, readFile, readlink, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unpackArchive } from '../../src/source/unpack/index.js';
import { SourceError, UnsafeArchiveError } from '../../src/source/errors.js';
import { describeTree, dumpXattrs, makeRichTree } from './trees.js';
import { MemorySink } from '../../src/util/events.js';
import { gnuTar, makeSquashfs, makeZip, rawTar, zstdBomb, type RawEntry } from './archives.js';

let base: string;
let root: string;
let canary: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'kiln-unpack-test-'));
  root = path.join(base, 'root');
  canary = path.join(base, 'canary');
  await mkdir(root);
  await mkdir(canary);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('unpacking a real root tarball', () => {
  let src: string;
  beforeEach(async () => {
    src = path.join(base, 'src');
    await mkdir(src);
    makeRichTree(src);
  });

  for (const compress of [undefined, 'gzip', 'xz', 'zstd', 'bzip2'] as const) {
    it(`keeps owners, modes, times, links, nodes and xattrs (${compress ?? 'uncompressed'}, detected from content)`, async () => {
      // A misleading name: detection must come from the bytes.
      const file = path.join(base, 'archive.bin');
      gnuTar(src, file, compress);
      const r = await unpackArchive(file, root, { limits: { devices: true } });
      expect(r.format).toBe(
        compress === undefined ? 'tar' : { gzip: 'tar.gz', xz: 'tar.xz', zstd: 'tar.zst', bzip2: 'tar.bz2' }[compress],
      );
      expect(describeTree(root)).toEqual(describeTree(src));
      expect(dumpXattrs(root)).toEqual(dumpXattrs(src));
    });
  }

  it('unpacks a squashfs image through sqfs2tar', async () => {
    const img = path.join(base, 'root.sqfs');
    makeSquashfs(src, img);
    const r = await unpackArchive(img, root, { limits: { devices: true } });
    expect(r.format).toBe('squashfs');
    expect(describeTree(root)).toEqual(describeTree(src));
    expect(dumpXattrs(root)).toEqual(dumpXattrs(src));
  });

  it('leaves device nodes out by default, says so, and keeps FIFOs', async () => {
    const file = path.join(base, 'archive.tar');
    gnuTar(src, file);
    const sink = new MemorySink();
    const r = await unpackArchive(file, root, { sink });
    expect(r.droppedDevices).toEqual(['./dev/null']);
    expect(describeTree(root)).toEqual(describeTree(src).filter((l) => !l.startsWith('dev/null ')));
    expect((await lstat(path.join(root, 'dev/initctl'))).isFIFO()).toBe(true);
    const warning = sink.events.find((e) => e.type === 'log' && e.level === 'warn');
    expect(warning).toMatchObject({
      message: expect.stringMatching(/left out 1 device node\(s\).*source.unpack.devices: true keeps them/),
    });
  });

  it('unpacks a zip with unix modes and symlinks, owned by root', async () => {
    const zip = path.join(base, 'root.zip');
    const zsrc = path.join(base, 'zsrc');
    await mkdir(path.join(zsrc, 'bin'), { recursive: true });
    await writeFile(path.join(zsrc, 'bin/tool'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(zsrc, 'readme'), 'hi\n', { mode: 0o640 });
    await symlink('bin/tool', path.join(zsrc, 'tool'));
    makeZip(zsrc, zip);
    const r = await unpackArchive(zip, root);
    expect(r.format).toBe('zip');
    expect(await readFile(path.join(root, 'bin/tool'), 'utf8')).toBe('#!/bin/sh\n');
    expect(await readlink(path.join(root, 'tool'))).toBe('bin/tool');
    const lines = describeTree(root).map((l) => l.split(' ').slice(0, 4).join(' '));
    expect(lines).toEqual(['bin d 755 0:0', 'bin/tool f 755 0:0', 'readme f 640 0:0', 'tool l  0:0']);
  });

  it('refuses a zip entry climbing out with ../', async () => {
    const zip = path.join(base, 'evil.zip');
    execFileSync('python3', [
      '-c',
      "import zipfile,sys\nwith zipfile.ZipFile(sys.argv[1],'w') as z: z.writestr('ok','x'); z.writestr('../canary/pwned','x')",
      zip,
    ]);
    await expect(unpackArchive(zip, root)).rejects.toThrow(
      new UnsafeArchiveError(
        'entry "../canary/pwned": entry "../canary/pwned" has a ".." component and could land outside the root',
      ),
    );
    expect(await readdir(canary)).toEqual([]);
  });

  it('rejects a file that is no archive, naming it', async () => {
    const file = path.join(base, 'notes.tar.gz');
    await writeFile(file, 'just text, not an archive\n'.repeat(40));
    await expect(unpackArchive(file, root)).rejects.toThrow(SourceError);
    await expect(unpackArchive(file, root)).rejects.toThrow(/notes\.tar\.gz: not a recognized archive/);
  });

  it('rejects a truncated archive', async () => {
    const file = path.join(base, 'a.tar');
    gnuTar(src, file);
    const whole = await readFile(file);
    await writeFile(file, whole.subarray(0, 2 * 1024 * 1024));
    await expect(unpackArchive(file, root)).rejects.toThrow(/truncated/);
  });
});

describe('hostile archives are refused with nothing written outside the root', () => {
  async function refuse(entries: RawEntry[], message: RegExp): Promise<void> {
    const file = path.join(base, 'evil.tar');
    await writeFile(file, await rawTar(entries));
    const err = await unpackArchive(file, root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(message);
    expect(await readdir(canary)).toEqual([]);
    expect((await readdir(base)).sort()).toEqual(['canary', 'evil.tar', 'root']);
  }

  it('refuses "../" entries', async () => {
    await refuse(
      [
        { name: 'ok', content: 'x' },
        { name: '../canary/pwned', content: 'x' },
      ],
      /entry "\.\.\/canary\/pwned".*"\.\." component/,
    );
  });

  it('refuses ".." hidden in the middle of a name', async () => {
    await refuse([{ name: 'etc/../../canary/pwned', content: 'x' }], /"\.\." component/);
  });

  it('refuses absolute names', async () => {
    await refuse([{ name: `${canary}/pwned`, content: 'x' }], /absolute path/);
  });

  it('refuses writing a file through a symlink from an earlier entry', async () => {
    await refuse(
      [
        { name: 'passwd', type: 'symlink', linkname: '../canary/pwned' },
        { name: 'passwd', content: 'owned' },
      ],
      /entry "passwd" would write through the symlink "passwd"/,
    );
  });

  it('refuses writing under a symlinked parent directory', async () => {
    await refuse(
      [
        { name: 'etc', type: 'symlink', linkname: '../canary' },
        { name: 'etc/passwd', content: 'owned' },
      ],
      /entry "etc\/passwd" would be written through the symlink "etc"/,
    );
  });

  it('refuses a symlinked parent planted in the root before unpacking', async () => {
    await symlink(canary, path.join(root, 'var'));
    await refuse(
      [{ name: 'var/lib/x', content: 'owned' }],
      /entry "var\/lib\/x" would be written through the symlink "var"/,
    );
  });

  it('refuses a hardlink to a file outside the root', async () => {
    await writeFile(path.join(base, 'secret'), 'secret');
    const file = path.join(base, 'evil.tar');
    await writeFile(file, await rawTar([{ name: 'stolen', type: 'link', linkname: '../secret' }]));
    await expect(unpackArchive(file, root)).rejects.toThrow(
      /entry "stolen": hardlink target "\.\.\/secret" has a "\.\." component/,
    );
    await expect(unpackArchive(file, root)).rejects.toThrow(UnsafeArchiveError);
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses a hardlink reaching outside through a symlink', async () => {
    await refuse(
      [
        { name: 'up', type: 'symlink', linkname: '..' },
        { name: 'stolen', type: 'link', linkname: 'up/canary/x' },
      ],
      /entry "stolen" would be written through the symlink "up"/,
    );
  });

  it('refuses a hardlink with an absolute target', async () => {
    await refuse(
      [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }],
      /hardlink target "\/etc\/shadow" is an absolute path/,
    );
  });
});

describe('layer mode (OCI/Docker layers)', () => {
  async function layer(name: string, entries: RawEntry[]): Promise<string> {
    const file = path.join(base, name);
    await writeFile(file, await rawTar(entries));
    return file;
  }

  it('keeps a lower layer symlink to a directory and writes through it inside the root (keep-dirlinks)', async () => {
    await unpackArchive(
      await layer('l1.tar', [
        { name: 'usr/bin/', type: 'directory' },
        { name: 'usr/lib/', type: 'directory' },
        { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
        { name: 'lib', type: 'symlink', linkname: '/usr/lib' },
        { name: 'up', type: 'symlink', linkname: '../../..' },
      ]),
      root,
      { layer: true },
    );
    await unpackArchive(
      await layer('l2.tar', [
        { name: 'bin/', type: 'directory' },
        { name: 'bin/tool', content: 'tool' },
        { name: 'lib/libx.so', content: 'lib' },
        { name: 'up/etc/passwd', content: 'stays inside' },
      ]),
      root,
      { layer: true },
    );
    expect(await readlink(path.join(root, 'bin'))).toBe('usr/bin');
    expect(await readFile(path.join(root, 'usr/bin/tool'), 'utf8')).toBe('tool');
    expect(await readFile(path.join(root, 'usr/lib/libx.so'), 'utf8')).toBe('lib');
    // "../../.." cannot climb above the root: it resolves to the root itself.
    expect(await readFile(path.join(root, 'etc/passwd'), 'utf8')).toBe('stays inside');
    expect(await readdir(canary)).toEqual([]);
  });

  it('refuses a layer symlink that leads nowhere inside the root', async () => {
    await unpackArchive(
      await layer('l1.tar', [{ name: 'dangling', type: 'symlink', linkname: '/nonexistent' }]),
      root,
      { layer: true },
    );
    await expect(
      unpackArchive(await layer('l2.tar', [{ name: 'dangling/x', content: 'x' }]), root, { layer: true }),
    ).rejects.toThrow(/entry "dangling\/x": the symlink "dangling" does not lead to a directory inside the root/);
  });
});

describe('size and entry caps', () => {
  it('stops a 10 GB-expanding bomb at its header, before writing it', async () => {
    const bomb = path.join(base, 'bomb.tar.zst');
    await writeFile(bomb, await zstdBomb(10 * 1024 ** 3, 40));
    const err = await unpackArchive(bomb, root, { limits: { maxBytes: 1024 ** 3 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(
      /more than the 1073741824-byte limit at entry "zeros".*\(source.unpack.max_size raises the limit\)/,
    );
    expect(await readdir(root)).toEqual([]);
  });

  it('stops a bomb by its expansion ratio with no limit given (default 200 times past 1 GiB)', async () => {
    // 4 GiB from about 130 KB: far under the 16 GiB cap, far over any real root's ratio.
    const bomb = path.join(base, 'ratio.tar.zst');
    await writeFile(bomb, await zstdBomb(4 * 1024 ** 3, 16));
    const err = await unpackArchive(bomb, root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(
      /more than 200 times the archive's size at entry "zeros".*\(source.unpack.max_ratio raises the limit\)/,
    );
    expect(await readdir(root)).toEqual([]);
  });

  it('lets a sparse-looking small archive expand freely up to 1 GiB', async () => {
    const bomb = path.join(base, 'small.tar.zst');
    await writeFile(bomb, await zstdBomb(256 * 1024 ** 2, 1));
    await unpackArchive(bomb, root);
    expect(await readdir(root)).toEqual(['zeros']);
  });

  it('stops a bomb of many entries at the byte cap while writing', async () => {
    const entries: RawEntry[] = Array.from({ length: 64 }, (_, i) => ({
      name: `f${i}`,
      content: Buffer.alloc(1 << 20),
    }));
    const file = path.join(base, 'many.tar');
    await writeFile(file, await rawTar(entries));
    await expect(unpackArchive(file, root, { limits: { maxBytes: 8 << 20 } })).rejects.toThrow(/limit at entry "f8"/);
  });

  it('stops an archive with too many entries', async () => {
    const entries: RawEntry[] = Array.from({ length: 100 }, (_, i) => ({ name: `e${i}`, content: '' }));
    const file = path.join(base, 'wide.tar');
    await writeFile(file, await rawTar(entries));
    await expect(unpackArchive(file, root, { limits: { maxEntries: 50 } })).rejects.toThrow(
      /more than 50 entries \(at "e50"\).*source.unpack.max_entries raises the limit/,
    );
  });
});
