import type { PackageManagerSpec } from './types.js';

/**
 * distrobuilder probes `yum --help` to add `--allowerasing` and `--nobest`
 * where this yum knows them; kiln passes neither (the plan is static), so
 * old yum versions keep working.
 */
export const yum: PackageManagerSpec = {
  name: 'yum',
  refresh: ['yum', '-y', 'makecache'],
  update: ['yum', '-y', 'update'],
  install: ['yum', '-y', 'install'],
  remove: ['yum', '-y', 'remove'],
  clean: ['yum', '-y', 'clean', 'all'],
  repositories: {
    handler: 'yum',
    description: 'rpmdb --rebuilddb, then url is written verbatim as /etc/yum.repos.d/<name>.repo',
  },
};
