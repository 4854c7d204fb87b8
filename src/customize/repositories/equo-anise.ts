import type { RepositoryHandler } from './types.js';
import { fileName, withNewline } from './common.js';
import { writeFileInRoot } from '../file-ops.js';
import { KilnError } from '../../util/errors.js';

/** equo: `equo repo add` for type equo (or none), `enman add` for type enman. */
export const equo: RepositoryHandler = {
  managers: ['equo'],
  async add(ctx) {
    const name = fileName(ctx.repo, ctx.step);
    const url = (ctx.repo.url ?? '').trim();
    const type = ctx.repo.type ?? '';
    if (type === '' || type === 'equo')
      return ctx.run({ argv: ['equo', 'repo', 'add', '--repo', url, '--pkg', url, name] });
    if (type === 'enman') return ctx.run({ argv: ['enman', 'add', url || name] });
    throw new KilnError(
      `${ctx.step}: repository '${name}' has type '${type}'; equo accepts 'equo', 'enman' or no type`,
    );
  },
};

/** anise: `url` is the repository's YAML, written as /etc/anise/repos.conf.d/NAME.yml. */
export const anise: RepositoryHandler = {
  managers: ['anise'],
  async add(ctx) {
    const name = fileName(ctx.repo, ctx.step);
    await writeFileInRoot(
      ctx.rootfs,
      `/etc/anise/repos.conf.d/${name.replace(/\.ya?ml$/, '')}.yml`,
      withNewline(ctx.repo.url ?? ''),
      { mode: 0o644 },
    );
  },
};
