import type { PackageManagerSpec } from './types.js';

export const equo: PackageManagerSpec = {
  name: 'equo',
  refresh: ['equo', 'update'],
  update: ['equo', 'upgrade'],
  install: ['equo', 'install'],
  remove: ['equo', 'remove'],
  clean: ['equo', 'cleanup'],
  repositories: {
    handler: 'equo',
    description:
      'type equo (or empty): equo repo add --repo <url> --pkg <url> <name>; type enman: enman add <url or name>',
  },
};
