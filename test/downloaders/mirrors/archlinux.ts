import type { TestKey } from '../../source/gpg-keys.js';
import { busyboxArchive, MirrorTree, sha256 } from '../fixtures.js';

export const PACMAN_STUB = '#!/bin/sh\necho "pacman $*" >> /var/log/pacman-stub.log\nexit 0\n';

export function archRootFiles(date: string): Record<string, string> {
  return {
    'etc/arch-release': '',
    'etc/os-release': 'NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n',
    version: `${date}\n`,
    'usr/bin/pacman': PACMAN_STUB,
    'etc/pacman.conf': '[options]\nArchitecture = auto\n',
  };
}

export interface ArchMirror {
  tree: MirrorTree;
  tarballs: Map<string, Buffer>;
}

/**
 * archive.archlinux.org's iso/ tree (nginx autoindex): dated directories,
 * each with the zstd bootstrap wrapping the root in root.x86_64/, its
 * detached .sig, the ISO and sums files; an older .tar.gz-era date; and the
 * Arch Linux ARM os/ directory.
 */
export function archMirror(key: TestKey, opts: { base?: string; dates?: string[] } = {}): ArchMirror {
  const base = opts.base ?? '/iso';
  const tree = new MirrorTree('nginx');
  const tarballs = new Map<string, Buffer>();
  for (const date of opts.dates ?? ['2024.12.01', '2025.01.01']) {
    const name = `archlinux-bootstrap-${date}-x86_64.tar.zst`;
    const tzst = busyboxArchive(archRootFiles(date), 'zstd', { prefix: 'root.x86_64' });
    tarballs.set(date, tzst);
    tree.add(`${base}/${date}/${name}`, tzst);
    tree.add(`${base}/${date}/${name}.sig`, key.detachSign(tzst));
    tree.add(`${base}/${date}/archlinux-${date}-x86_64.iso`, 'not an iso\n');
    tree.add(`${base}/${date}/sha256sums.txt`, `${sha256(tzst)}  ${name}\n`);
  }
  const old = busyboxArchive(archRootFiles('2022.01.01'), 'gzip', { prefix: 'root.x86_64' });
  tarballs.set('2022.01.01', old);
  tree.add(`${base}/2022.01.01/archlinux-bootstrap-2022.01.01-x86_64.tar.gz`, old);
  tree.add(`${base}/2022.01.01/archlinux-bootstrap-2022.01.01-x86_64.tar.gz.sig`, key.detachSign(old));
  const arm = busyboxArchive(archRootFiles('arm'), 'gzip');
  tarballs.set('aarch64', arm);
  tree.add(`${base}/os/ArchLinuxARM-aarch64-latest.tar.gz`, arm);
  tree.add(`${base}/os/ArchLinuxARM-aarch64-latest.tar.gz.sig`, key.detachSign(arm));
  tree.add(`${base}/os/ArchLinuxARM-aarch64-latest.tar.gz.md5`, 'md5\n');
  return { tree, tarballs };
}
