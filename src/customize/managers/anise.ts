import type { PackageManagerSpec } from './types.js';

export const anise: PackageManagerSpec = {
  name: 'anise',
  refresh: ['anise', 'repo', 'update', '--force'],
  update: ['anise', 'upgrade', '--sync-repos', '--skip-config-protect'],
  install: ['anise', 'install', '--skip-config-protect'],
  remove: ['anise', 'uninstall', '--skip-config-protect'],
  clean: ['anise', 'cleanup', '--purge-repos'],
  repositories: { handler: 'anise', description: 'url content is written to /etc/anise/repos.conf.d/<name>.yml' },
};
