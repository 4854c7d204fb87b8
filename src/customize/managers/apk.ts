import type { PackageManagerSpec } from './types.js';

export const apk: PackageManagerSpec = {
  name: 'apk',
  refresh: ['apk', '--no-cache', 'update'],
  update: ['apk', '--no-cache', 'upgrade'],
  install: ['apk', '--no-cache', 'add'],
  remove: ['apk', '--no-cache', 'del', '--rdepends'],
  clean: null,
  repositories: {
    handler: 'apk',
    description: 'url is appended as a line of /etc/apk/repositories; key -> /etc/apk/keys/<name>',
  },
};
