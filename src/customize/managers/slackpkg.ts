import type { PackageManagerSpec } from './types.js';

const S = ['slackpkg', '-batch=on', '-default_answer=y'];

export const slackpkg: PackageManagerSpec = {
  name: 'slackpkg',
  refresh: [...S, 'update'],
  update: null,
  install: [...S, 'install'],
  remove: [...S, 'remove'],
  clean: null,
  repositories: { handler: null, description: 'ignored' },
};
