import type { PackageManagerSpec } from './types.js';

const ARM = new Set(['armv6l', 'armv7l', 'armv8l', 'aarch64']);

/**
 * distrobuilder also overwrites /etc/pacman.d/mirrorlist with a mirror picked
 * by the *host* CPU; kiln keeps the image's mirrorlist (definitions set
 * their own in post-unpack) and only initialises the keyring, for the
 * image's architecture, when the image has none.
 */
export const pacman: PackageManagerSpec = {
  name: 'pacman',
  refresh: ['pacman', '--noconfirm', '-Syy'],
  update: ['pacman', '--noconfirm', '-Su'],
  install: ['pacman', '--noconfirm', '-S', '--needed'],
  remove: ['pacman', '--noconfirm', '-Rcs'],
  clean: ['sh', '-c', 'pacman --noconfirm -Sc && rm -rf /var/cache/pacman/pkg/*'],
  setup: ({ architectureKernel }) => {
    const keyring = ARM.has(architectureKernel) ? 'archlinuxarm' : 'archlinux';
    return [
      'sh',
      '-c',
      `if [ ! -d /etc/pacman.d/gnupg ]; then pacman-key --init && pacman-key --populate ${keyring}; fi`,
    ];
  },
  repositories: {
    handler: 'pacman',
    description:
      'a [name] section in /etc/pacman.conf (Server = url); an armored key is added to the pacman keyring (distrobuilder ignores pacman repositories)',
  },
};
