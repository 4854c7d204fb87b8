import type { PackageManagerSpec } from './types.js';

export const apt: PackageManagerSpec = {
  name: 'apt',
  refresh: ['apt-get', '-y', 'update'],
  update: ['apt-get', '-y', 'dist-upgrade'],
  install: ['apt-get', '-y', 'install'],
  remove: ['apt-get', '-y', 'remove', '--auto-remove'],
  clean: ['apt-get', '-y', 'clean'],
  repositories: {
    handler: 'apt',
    description:
      'name sources.list -> /etc/apt/sources.list, else /etc/apt/sources.list.d/<name>.list; the file is replaced unless this build already wrote it, then url is appended; key: armored -> /etc/apt/trusted.gpg.d/<name>.asc, key id -> fetched with gpg inside the image',
  },
};
