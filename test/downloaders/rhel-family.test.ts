/**
 * centos-http, rockylinux-http and almalinux-http against fixture mirrors
 * whose ISOs are real ISO 9660 images (xorriso) laid out like the
 * distributions' minimal/dvd ISOs: an installer image (LiveOS/squashfs.img,
 * directly a root or wrapping an ext4 LiveOS/rootfs.img), BaseOS and
 * AppStream repositories and RPM-GPG-KEY files. The installer root is
 * busybox with a dnf stand-in that records its arguments and lays a tiny
 * tree into --installroot: real RPMs and a real dnf transaction are not
 * available offline, so what the minimal install itself produces is not shown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeSquashfs } from '../source/archives.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { runSource, sourceError } from './context.js';
import { busyboxRoot, MirrorTree, scratch, sha256, startMirror } from './fixtures.js';

const DNF_STUB = `#!/bin/sh
root=
for a in "$@"; do case "$a" in --installroot=*) root="\${a#--installroot=}";; esac; done
case " $* " in *" install "*)
  mkdir -p "$root/bin" "$root/etc" "$root/var/log"
  cp /bin/busybox "$root/bin/busybox"
  ln -sf busybox "$root/bin/sh"
  for a in "$@"; do case "$a" in *-release) head -n 1 /mnt/cdrom/.discinfo > "$root/etc/$a";; esac; done
  ls /mnt/cdrom/BaseOS/Packages > "$root/var/log/iso-packages"
  cp /etc/yum.repos.d/kiln-cdrom.repo "$root/var/log/kiln-cdrom.repo"
  echo "dnf $*" > "$root/var/log/dnf-args"
esac
exit 0
`;

/** An install ISO: installer image, BaseOS/AppStream repos (or none for a boot ISO), keys. */
function makeIso(label: string, opts: { ext4Installer?: boolean; repos?: boolean; key?: string }): Buffer {
  const s = scratch('iso');
  try {
    const installer = path.join(s.dir, 'installer');
    busyboxRoot(installer, { 'usr/bin/dnf': DNF_STUB, 'etc/os-release': `NAME="${label} installer"\n` });
    const tree = path.join(s.dir, 'tree');
    mkdirSync(path.join(tree, 'LiveOS'), { recursive: true });
    if (opts.ext4Installer) {
      // Live media: squashfs.img holds LiveOS/rootfs.img, an ext4 image of the root.
      const wrap = path.join(s.dir, 'wrap');
      mkdirSync(path.join(wrap, 'LiveOS'), { recursive: true });
      execFileSync('mkfs.ext4', ['-q', '-F', '-d', installer, path.join(wrap, 'LiveOS/rootfs.img'), '8M'], {
        stdio: 'pipe',
      });
      makeSquashfs(wrap, path.join(tree, 'LiveOS/squashfs.img'));
    } else {
      makeSquashfs(installer, path.join(tree, 'LiveOS/squashfs.img'));
    }
    writeFileSync(path.join(tree, '.discinfo'), `${label}\n1736700000.0\nx86_64\n`);
    writeFileSync(path.join(tree, '.treeinfo'), `[general]\nname = ${label}\n`);
    if (opts.repos !== false) {
      for (const repo of ['BaseOS', 'AppStream']) {
        mkdirSync(path.join(tree, repo, 'repodata'), { recursive: true });
        mkdirSync(path.join(tree, repo, 'Packages'), { recursive: true });
        writeFileSync(path.join(tree, repo, 'repodata/repomd.xml'), '<?xml version="1.0"?><repomd/>\n');
        writeFileSync(
          path.join(tree, repo, 'Packages', `${repo === 'BaseOS' ? 'basesystem' : 'vim'}-1-1.noarch.rpm`),
          'rpm\n',
        );
      }
    }
    if (opts.key) writeFileSync(path.join(tree, opts.key), 'key\n');
    const out = path.join(s.dir, 'out.iso');
    execFileSync(
      'xorriso',
      ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', label.slice(0, 32).replace(/\W/g, '_'), '-o', out, tree],
      { stdio: 'pipe' },
    );
    return readFileSync(out);
  } finally {
    s.remove();
  }
}

const bsd = (name: string, data: Buffer): string =>
  `# ${name}: ${data.length} bytes\nSHA256 (${name}) = ${sha256(data)}\n`;

interface Fixture {
  server: FixtureServer;
  tree: MirrorTree;
  isos: Map<string, Buffer>;
}

async function rhelMirror(key: TestKey): Promise<Fixture> {
  const tree = new MirrorTree('apache');
  const isos = new Map<string, Buffer>();
  const rocky9 = makeIso('Rocky-9-5-x86_64-dvd', { key: 'RPM-GPG-KEY-Rocky-9' });
  const rocky10 = makeIso('Rocky-10-0-x86_64-dvd', { key: 'RPM-GPG-KEY-Rocky-10' });
  const rockyBoot = makeIso('Rocky-9-5-x86_64-boot', { repos: false });
  const alma = makeIso('AlmaLinux-9-5-x86_64-minimal', { ext4Installer: true, key: 'RPM-GPG-KEY-AlmaLinux-9' });
  const centos = makeIso('CentOS-Stream-9-BaseOS-x86_64', { key: 'RPM-GPG-KEY-centosofficial' });
  isos.set('rocky9', rocky9).set('rocky10', rocky10).set('alma', alma).set('centos', centos);

  const r9 = '/rocky/9/isos/x86_64';
  const r9names: Array<[string, Buffer]> = [
    ['Rocky-9.4-x86_64-minimal.iso', rockyBoot],
    ['Rocky-9.5-x86_64-minimal.iso', rocky9],
    ['Rocky-9-latest-x86_64-minimal.iso', rocky9],
    ['Rocky-9.5-x86_64-boot.iso', rockyBoot],
  ];
  for (const [n, b] of r9names) tree.add(`${r9}/${n}`, b);
  tree.add(`${r9}/CHECKSUM`, r9names.map(([n, b]) => bsd(n, b)).join(''));
  const r10 = '/rocky/10/isos/x86_64';
  tree.add(`${r10}/Rocky-10.0-x86_64-minimal.iso`, rocky10);
  const c10 = bsd('Rocky-10.0-x86_64-minimal.iso', rocky10);
  tree.add(`${r10}/CHECKSUM`, c10).add(`${r10}/CHECKSUM.asc`, key.detachSign(c10));

  const a9 = '/almalinux/9/isos/x86_64';
  tree.add(`${a9}/AlmaLinux-9.5-x86_64-minimal.iso`, alma);
  tree.add(`${a9}/AlmaLinux-9-latest-x86_64-minimal.iso`, alma);
  tree.add(
    `${a9}/CHECKSUM`,
    key.clearsign(bsd('AlmaLinux-9.5-x86_64-minimal.iso', alma) + bsd('AlmaLinux-9-latest-x86_64-minimal.iso', alma)),
  );

  const cs = '/centos-stream/9-stream/BaseOS/x86_64/iso';
  const csNames: Array<[string, Buffer]> = [
    ['CentOS-Stream-9-20250106.0-x86_64-dvd1.iso', rockyBoot],
    ['CentOS-Stream-9-20250113.0-x86_64-dvd1.iso', centos],
    ['CentOS-Stream-9-20250113.0-x86_64-boot.iso', rockyBoot],
    ['CentOS-Stream-9-latest-x86_64-dvd1.iso', centos],
  ];
  for (const [n, b] of csNames) tree.add(`${cs}/${n}`, b).add(`${cs}/${n}.SHA256SUM`, bsd(n, b));
  tree.add(`${cs}/SHA256SUM`, csNames.map(([n, b]) => bsd(n, b)).join(''));
  return { server: await startMirror(tree), tree, isos };
}

describe('RHEL family ISO downloaders', () => {
  let key: TestKey;
  let fx: Fixture;
  let cache: ReturnType<typeof scratch>;
  const url = (p: string) => fx.server.url(p);

  beforeAll(async () => {
    key = makeTestKey('RHEL Test');
    fx = await rhelMirror(key);
    cache = scratch('rhel-cache');
  }, 60_000);
  afterAll(async () => {
    await fx?.server.close();
    key?.dispose();
    cache?.remove();
  });

  it('rockylinux-http 10: verifies CHECKSUM.asc and installs a minimal tree from the ISO repositories inside its installer root', async () => {
    const iso = url('/rocky/10/isos/x86_64/Rocky-10.0-x86_64-minimal.iso');
    const record = await runSource(
      { downloader: 'rockylinux-http', url: url('/rocky'), keys: [key.armored] },
      { release: '10', cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/rocky-release'), 'utf8')).toBe('Rocky-10-0-x86_64-dvd\n');
        expect(await readFile(path.join(ctx.rootfs, 'var/log/dnf-args'), 'utf8')).toBe(
          'dnf --installroot=/rootfs --releasever=10 --disablerepo=* --enablerepo=kiln-cdrom-* --setopt=install_weak_deps=False --setopt=tsflags=nodocs -y install basesystem rocky-release dnf\n',
        );
        const repo = await readFile(path.join(ctx.rootfs, 'var/log/kiln-cdrom.repo'), 'utf8');
        expect(repo).toContain(
          '[kiln-cdrom-BaseOS]\nname=ISO BaseOS\nbaseurl=file:///mnt/cdrom/BaseOS\nenabled=1\ngpgcheck=1\ngpgkey=file:///mnt/cdrom/RPM-GPG-KEY-Rocky-10\n',
        );
        expect(repo).toContain('[kiln-cdrom-AppStream]');
        expect(await readFile(path.join(ctx.rootfs, 'var/log/iso-packages'), 'utf8')).toBe(
          'basesystem-1-1.noarch.rpm\n',
        );
        // Only what the install wrote: nothing of the installer root or the ISO.
        expect((await readdir(ctx.rootfs)).sort()).toEqual(['bin', 'etc', 'var']);
        expect(await readdir(ctx.workDir)).toEqual([]);
      },
    );
    expect(record.resolved).toEqual({
      release: '10.0',
      architecture: 'x86_64',
      variant: 'minimal',
      installer: 'LiveOS/squashfs.img',
      repositories: 'BaseOS,AppStream',
      url: iso,
    });
    expect(record.inputs[0]).toMatchObject({
      url: iso,
      sha256: sha256(fx.isos.get('rocky10')!),
      verifiedBy: `gpg:${key.fingerprint}`,
    });
  });

  it('rockylinux-http 9: picks the newest point release (not the -latest alias); its unsigned CHECKSUM is checked with skip_verification', async () => {
    const record = await runSource(
      { downloader: 'rockylinux-http', url: url('/rocky'), skip_verification: true },
      { release: '9', cacheDir: cache.dir },
    );
    expect(record.resolved).toMatchObject({
      release: '9.5',
      url: url('/rocky/9/isos/x86_64/Rocky-9.5-x86_64-minimal.iso'),
    });
    expect(record.inputs[0]!.verifiedBy).toBe('sums-unsigned:sha256');
    const keys = await sourceError(
      { downloader: 'rockylinux-http', url: url('/rocky'), keys: [key.armored] },
      { release: '9', cacheDir: cache.dir },
    );
    expect(keys.message).toMatch(/Rocky-9\.5-x86_64-minimal\.iso: upstream publishes no OpenPGP signature/);
  });

  it('almalinux-http: clearsigned CHECKSUM, installer root from the ext4 LiveOS/rootfs.img inside squashfs.img', async () => {
    const record = await runSource(
      { downloader: 'almalinux-http', url: url('/almalinux'), keys: [key.armored] },
      { release: '9', cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/almalinux-release'), 'utf8')).toBe(
          'AlmaLinux-9-5-x86_64-minimal\n',
        );
        expect(await readFile(path.join(ctx.rootfs, 'var/log/dnf-args'), 'utf8')).toContain('--releasever=9 ');
      },
    );
    expect(record.resolved).toMatchObject({ release: '9.5', installer: 'LiveOS/squashfs.img' });
    expect(record.inputs[0]!.verifiedBy).toBe(`gpg:${key.fingerprint}`);
  });

  it('centos-http: the newest CentOS Stream build from BaseOS/<arch>/iso/, SHA256SUM checked', async () => {
    const record = await runSource(
      { downloader: 'centos-http', url: url('/centos-stream'), skip_verification: true },
      { release: '9-stream', cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/centos-stream-release'), 'utf8')).toBe(
          'CentOS-Stream-9-BaseOS-x86_64\n',
        );
      },
    );
    expect(record.resolved).toMatchObject({
      release: '9-stream',
      build: '20250113.0',
      variant: 'dvd1',
      url: url('/centos-stream/9-stream/BaseOS/x86_64/iso/CentOS-Stream-9-20250113.0-x86_64-dvd1.iso'),
    });
    expect(record.inputs[0]!.verifiedBy).toBe('sums-unsigned:sha256');
  });

  it('fails on an ISO that does not match CHECKSUM', async () => {
    const p = '/rocky/9/isos/x86_64/Rocky-9.5-x86_64-minimal.iso';
    fx.server.set(p, fx.isos.get('alma')!);
    const fresh = scratch('rhel-fresh');
    try {
      const err = await sourceError(
        { downloader: 'rockylinux-http', url: url('/rocky'), skip_verification: true },
        { release: '9.5', cacheDir: fresh.dir },
      );
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toContain(`${url(p)}: sha256 mismatch`);
    } finally {
      fresh.remove();
      fx.tree.publish(fx.server);
    }
  });

  it('fails on a tampered clearsigned CHECKSUM and on a bad CHECKSUM.asc', async () => {
    const a = '/almalinux/9/isos/x86_64/CHECKSUM';
    fx.server.set(
      a,
      key
        .clearsign(bsd('AlmaLinux-9.5-x86_64-minimal.iso', fx.isos.get('alma')!))
        .toString()
        .replace('bytes', 'octets'),
    );
    fx.server.set('/rocky/10/isos/x86_64/CHECKSUM.asc', key.detachSign('forged'));
    try {
      const alma = await sourceError(
        { downloader: 'almalinux-http', url: url('/almalinux'), keys: [key.armored] },
        { release: '9', cacheDir: cache.dir },
      );
      expect(alma.message).toBe(`${url(a)}: BAD signature`);
      const rocky = await sourceError(
        { downloader: 'rockylinux-http', url: url('/rocky'), keys: [key.armored] },
        { release: '10', cacheDir: cache.dir },
      );
      expect(rocky.message).toBe(`${url('/rocky/10/isos/x86_64/CHECKSUM.asc')}: BAD signature`);
    } finally {
      fx.tree.publish(fx.server);
    }
  });

  it('names the missing CHECKSUM and the missing release directory', async () => {
    fx.server.delete('/almalinux/9/isos/x86_64/CHECKSUM');
    try {
      const err = await sourceError(
        { downloader: 'almalinux-http', url: url('/almalinux'), keys: [key.armored] },
        { release: '9', cacheDir: cache.dir },
      );
      expect(err.message).toContain(`${url('/almalinux/9/isos/x86_64/CHECKSUM')}: not found`);
    } finally {
      fx.tree.publish(fx.server);
    }
    const gone = await sourceError(
      { downloader: 'almalinux-http', url: url('/almalinux'), keys: [key.armored] },
      { release: '8', cacheDir: cache.dir },
    );
    expect(gone.message).toContain(`${url('/almalinux/8/isos/x86_64/')}: not found`);
  });

  it('refuses a boot ISO, which carries no package repository', async () => {
    const err = await sourceError(
      { downloader: 'rockylinux-http', url: url('/rocky'), variant: 'boot', skip_verification: true },
      { release: '9', cacheDir: cache.dir },
    );
    expect(err.message).toMatch(
      /Rocky-9\.5-x86_64-boot\.iso: the ISO carries no package repository .*use a minimal or dvd ISO/,
    );
  });
});
