/**
 * One root feeds the LXC and the Incus outputs; what a generator wants only
 * in the LXC image (cloud-init switched off there, kept for Incus's NoCloud
 * seed) is applied while rootfs.tar.xz is written, never to the root.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packImage } from '../../src/pack/index.js';
import { busyboxMetadata, makeBusyboxRoot, packInput, SDE } from './fixtures.js';
import { tarVerbose, treeListing, withSquashfsMount } from './helpers.js';

const LINK = 'etc/runlevels/default/cloud-init';
const DISABLED = 'etc/cloud/cloud-init.disabled';

describe('an LXC-only difference (cloud-init off in rootfs.tar.xz, on in rootfs.squashfs)', () => {
  let dir: string;
  let root: string;
  let out: string;
  let before: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pack-lxconly-'));
    root = join(dir, 'root');
    out = join(dir, 'out');
    mkdirSync(root);
    mkdirSync(out);
    makeBusyboxRoot(root);
    mkdirSync(join(root, 'etc/runlevels/default'), { recursive: true });
    mkdirSync(join(root, 'etc/cloud'), { recursive: true });
    symlinkSync('/etc/init.d/cloud-init', join(root, LINK));
    before = treeListing(root);
    const metadata = {
      ...busyboxMetadata(),
      lxcOnly: { remove: [LINK], add: [{ path: DISABLED, content: '', mode: 0o644 }] },
    };
    await packImage(packInput(root, out, { formats: ['lxc', 'incus'], metadata }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves the root itself untouched', () => {
    expect(treeListing(root)).toEqual(before);
    expect(existsSync(join(root, DISABLED))).toBe(false);
  });

  it('rootfs.tar.xz lacks the OpenRC link and carries the disable file, owned by root with the clamped mtime', () => {
    const lines = tarVerbose(join(out, 'rootfs.tar.xz'));
    expect(lines.filter((l) => l.includes(`./${LINK}`))).toEqual([]);
    const added = lines.filter((l) => l.endsWith(` ./${DISABLED}`));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^-rw-r--r-- +0\/0 +0 /);
    expect(added[0]).toContain(new Date(SDE * 1000).toISOString().slice(0, 10));
    // Everything else is the root's own tree.
    const x = join(dir, 'x');
    mkdirSync(x);
    execFileSync('tar', ['--numeric-owner', '-xpJf', join(out, 'rootfs.tar.xz'), '-C', x]);
    const expected = treeListing(root).filter((l) => !l.includes(LINK));
    expect(treeListing(x).filter((l) => !l.includes(DISABLED))).toEqual(expected);
  });

  it('rootfs.squashfs keeps cloud-init: the link is there, the disable file is not', async () => {
    await withSquashfsMount(join(out, 'rootfs.squashfs'), join(dir, 'mnt'), (mnt) => {
      expect(treeListing(mnt)).toEqual(before);
      expect(lstatSync(join(mnt, LINK)).isSymbolicLink()).toBe(true);
      expect(readdirSync(join(mnt, 'etc/cloud'))).toEqual([]);
    });
  });

  it('refuses to drop the first name of a hard-linked file (the later name would dangle)', async () => {
    const root2 = join(dir, 'root2');
    const out2 = join(dir, 'out2');
    mkdirSync(join(root2, 'etc'), { recursive: true });
    mkdirSync(out2);
    writeFileSync(join(root2, 'etc/a'), 'same inode\n');
    linkSync(join(root2, 'etc/a'), join(root2, 'etc/b'));
    const metadata = { ...busyboxMetadata(), lxcOnly: { remove: ['etc/a'], add: [] } };
    await expect(packImage(packInput(root2, out2, { formats: ['lxc', 'incus'], metadata }))).rejects.toThrow(
      '/etc/a cannot differ between the LXC and Incus images: /etc/b is a hard link to it',
    );
    expect(readdirSync(out2)).toEqual([]);
  });
});
