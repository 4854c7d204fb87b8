import type { PackageManagerSpec } from './types.js';

export const egoportage: PackageManagerSpec = {
  name: 'egoportage',
  refresh: ['ego', 'sync'],
  update: ['emerge', '--update', '@world'],
  install: ['emerge', '--autounmask-continue', '--quiet-build=y'],
  remove: ['emerge', '--unmerge'],
  clean: null,
  repositories: { handler: null, description: 'ignored' },
};
