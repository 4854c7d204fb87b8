import type { PackageManagerSpec } from './types.js';

const Z = ['zypper', '--non-interactive', '--gpg-auto-import-keys'];

export const zypper: PackageManagerSpec = {
  name: 'zypper',
  refresh: [...Z, 'refresh'],
  update: [...Z, 'update'],
  install: [...Z, 'install', '--allow-downgrade', '--replacefiles'],
  remove: [...Z, 'remove'],
  clean: [...Z, 'clean', '-a'],
  repositories: {
    handler: 'zypper',
    description: 'zypper ar --refresh --check <url> <name> (type must be empty or zypper)',
  },
};
