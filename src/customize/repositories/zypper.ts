import type { RepositoryHandler } from './types.js';
import { fileName, isArmoredKey, withNewline } from './common.js';
import { removeInRoot, writeFileInRoot } from '../file-ops.js';
import { KilnError } from '../../util/errors.js';

/** zypper: `zypper ar --refresh --check URL NAME` inside the container; an armored key is imported with rpm. */
export const zypper: RepositoryHandler = {
  managers: ['zypper'],
  async add(ctx) {
    const name = fileName(ctx.repo, ctx.step);
    const type = ctx.repo.type ?? '';
    if (type !== '' && type !== 'zypper') {
      throw new KilnError(
        `${ctx.step}: repository '${name}' has type '${type}'; zypper accepts only 'zypper' or no type`,
      );
    }
    if (ctx.repo.key) {
      if (!isArmoredKey(ctx.repo.key))
        throw new KilnError(`${ctx.step}: repository '${name}' key must be an armored public key for zypper`);
      const keyFile = `/var/tmp/kiln-repo-key-${name}.asc`;
      await writeFileInRoot(ctx.rootfs, keyFile, withNewline(ctx.repo.key), { mode: 0o644 });
      try {
        await ctx.run({ argv: ['rpm', '--import', keyFile] });
      } finally {
        await removeInRoot(ctx.rootfs, keyFile);
      }
    }
    await ctx.run({ argv: ['zypper', 'ar', '--refresh', '--check', (ctx.repo.url ?? '').trim(), name] });
  },
};
