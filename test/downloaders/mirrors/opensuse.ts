import type { TestKey } from '../../source/gpg-keys.js';
import { busyboxArchive, MirrorTree, sha256 } from '../fixtures.js';

export const ZYPPER_STUB = '#!/bin/sh\necho "zypper $*" >> /var/log/zypper-stub.log\nexit 0\n';

export interface OpensuseMirror {
  tree: MirrorTree;
  /** `<release>/<arch>` -> the newest build's tarball. */
  tarballs: Map<string, Buffer>;
  names: Map<string, string>;
}

const TW_REPO: Record<string, string> = { x86_64: 'container', aarch64: 'container_ARM' };

/**
 * MirrorCache's rendering of the OBS container repositories for Tumbleweed
 * and of distribution/leap/<release>/appliances/: per architecture two
 * builds whose newest sorts first only numerically (Build10.2 > Build9.8),
 * the unversioned moving name, .packages/.verified side files, and
 * clearsigned .sha256 files.
 */
export function opensuseMirror(key: TestKey, opts: { leap?: string[]; arches?: string[] } = {}): OpensuseMirror {
  const tree = new MirrorTree('mirrorcache');
  const tarballs = new Map<string, Buffer>();
  const names = new Map<string, string>();
  const releases: Array<[string, string, string]> = [];
  for (const arch of opts.arches ?? ['x86_64', 'aarch64']) {
    releases.push([
      'tumbleweed',
      `/repositories/Virtualization:/containers:/images:/openSUSE-Tumbleweed/${TW_REPO[arch]}`,
      arch,
    ]);
    for (const leap of opts.leap ?? ['16.0']) releases.push([leap, `/distribution/leap/${leap}/appliances`, arch]);
  }
  for (const [release, dir, arch] of releases) {
    const flavour = release === 'tumbleweed' ? 'tumbleweed' : 'leap';
    const version = release === 'tumbleweed' ? '1.0.0' : `${release}.0`;
    for (const build of ['9.8', '10.2']) {
      const name = `opensuse-${flavour}-image.${arch}-${version}-lxc-Build${build}.tar.xz`;
      const txz = busyboxArchive(
        {
          'etc/os-release': `NAME="openSUSE ${flavour === 'leap' ? 'Leap' : 'Tumbleweed'}"\nID="opensuse-${flavour}"\nVERSION_ID="${flavour === 'leap' ? release : '20250115'}"\nBUILD="${build}"\n`,
          'usr/bin/zypper': ZYPPER_STUB,
        },
        'xz',
      );
      tree.add(`${dir}/${name}`, txz);
      tree.add(`${dir}/${name}.sha256`, key.clearsign(`${sha256(txz)}  ${name}\n`));
      tree.add(
        `${dir}/opensuse-${flavour}-image.${arch}-${version}-lxc-Build${build}.packages`,
        'busybox|1.36|x86_64\n',
      );
      if (build === '10.2') {
        tarballs.set(`${release}/${arch}`, txz);
        names.set(`${release}/${arch}`, name);
        tree.add(`${dir}/opensuse-${flavour}-image.${arch}-lxc.tar.xz`, txz);
      }
    }
  }
  return { tree, tarballs, names };
}
