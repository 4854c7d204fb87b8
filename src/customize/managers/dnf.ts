import type { PackageManagerSpec } from './types.js';

export const dnf: PackageManagerSpec = {
  name: 'dnf',
  refresh: ['dnf', '-y', 'makecache'],
  update: ['dnf', '-y', 'upgrade', '--nobest'],
  install: ['dnf', '-y', 'install', '--nobest'],
  remove: ['dnf', '-y', 'remove'],
  clean: ['dnf', '-y', 'clean', 'all'],
  repositories: { handler: 'yum', description: 'url is written verbatim as /etc/yum.repos.d/<name>.repo' },
};
