import type { PackageManagerSpec } from './types.js';

export const portage: PackageManagerSpec = {
  name: 'portage',
  refresh: null,
  update: ['emerge', '--update', '@world'],
  install: ['emerge', '--autounmask-continue'],
  remove: ['emerge', '--unmerge'],
  clean: null,
  repositories: { handler: null, description: 'ignored' },
};
