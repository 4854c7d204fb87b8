import type { TestKey } from '../../source/gpg-keys.js';
import { busyboxArchive, MirrorTree, sha256 } from '../fixtures.js';

/** /sbin/apk stand-in: logs its arguments so tests see what the build asked of it. */
export const APK_STUB = '#!/bin/sh\necho "apk $*" >> /var/log/apk-stub.log\nexit 0\n';

/** Alpine's minirootfs layout, from busybox. */
export function alpineRootFiles(version: string): Record<string, string> {
  const short = version.split('.').slice(0, 2).join('.');
  return {
    'etc/alpine-release': `${version}\n`,
    'etc/os-release': `NAME="Alpine Linux"\nID=alpine\nVERSION_ID=${version}\nPRETTY_NAME="Alpine Linux v${short}"\n`,
    'etc/apk/repositories': `http://mirror.invalid/alpine/v${short}/main\nhttp://mirror.invalid/alpine/v${short}/community\n`,
    'etc/apk/world': '',
    'sbin/apk': APK_STUB,
    'etc/hostname': 'localhost\n',
    'etc/inittab': '::sysinit:/bin/true\n',
  };
}

export interface AlpineMirror {
  tree: MirrorTree;
  /** Minirootfs bytes by version and arch, e.g. `3.21.10/x86_64`. */
  tarballs: Map<string, Buffer>;
}

/**
 * `<base>/v<X.Y>/releases/<arch>/` as Alpine's mirrors lay it out (nginx
 * autoindex): two point releases per X.Y (so discovery must compare
 * numerically: .10 beats .9), a release candidate, the ISO and
 * latest-releases.yaml beside them; `.sha256` and `.asc` per tarball.
 */
export function alpineMirror(
  key: TestKey,
  opts: {
    base?: string;
    releases: Record<string, string[]>;
    arches?: string[];
    extraFiles?: Record<string, string>;
    applets?: 'all' | 'few';
  },
): AlpineMirror {
  const base = opts.base ?? '/alpine';
  const tree = new MirrorTree('nginx');
  const tarballs = new Map<string, Buffer>();
  for (const [short, versions] of Object.entries(opts.releases)) {
    for (const arch of opts.arches ?? ['x86_64', 'aarch64']) {
      const dir = `${base}/v${short}/releases/${arch}`;
      for (const version of versions) {
        const name = `alpine-minirootfs-${version}-${arch}.tar.gz`;
        const tgz = busyboxArchive({ ...alpineRootFiles(version), ...opts.extraFiles }, 'gzip', {
          applets: opts.applets ?? 'few',
        });
        tarballs.set(`${version}/${arch}`, tgz);
        tree.add(`${dir}/${name}`, tgz);
        tree.add(`${dir}/${name}.sha256`, `${sha256(tgz)}  ${name}\n`);
        tree.add(`${dir}/${name}.asc`, key.detachSign(tgz));
        tree.add(`${dir}/alpine-standard-${version}-${arch}.iso`, 'not really an iso\n');
      }
      tree.add(`${dir}/alpine-minirootfs-${short}.0_rc1-${arch}.tar.gz`, 'release candidate\n');
      tree.add(
        `${dir}/latest-releases.yaml`,
        `---\n- title: "Mini root filesystem"\n  flavor: "alpine-minirootfs"\n  version: ${versions.at(-1)}\n`,
      );
    }
  }
  return { tree, tarballs };
}
