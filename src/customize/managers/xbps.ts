import type { PackageManagerSpec } from './types.js';

export const xbps: PackageManagerSpec = {
  name: 'xbps',
  refresh: ['xbps-install', '--sync'],
  // The first run may only update xbps itself; the second updates the rest.
  update: ['sh', '-c', 'xbps-install --yes --update && xbps-install --yes --update'],
  install: ['xbps-install', '--yes'],
  remove: ['xbps-remove', '--yes', '--recursive', '--remove-orphans'],
  clean: ['xbps-remove', '--yes', '--clean-cache'],
  repositories: { handler: null, description: 'ignored' },
};
