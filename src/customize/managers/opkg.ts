import type { PackageManagerSpec } from './types.js';

export const opkg: PackageManagerSpec = {
  name: 'opkg',
  // opkg takes its lock in /var/lock, which OpenWrt images lack until boot.
  refresh: ['sh', '-c', 'mkdir -p /var/lock && opkg update'],
  update: null,
  install: ['opkg', 'install'],
  remove: ['opkg', 'remove'],
  clean: ['rm', '-rf', '/tmp/opkg-lists/'],
  repositories: { handler: null, description: 'ignored' },
};
