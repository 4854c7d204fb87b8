import type { RepositoryHandler } from './types.js';
import { fileName, isArmoredKey, withNewline } from './common.js';
import { writeFileInRoot } from '../file-ops.js';
import { KilnError } from '../../util/errors.js';

/**
 * dnf and yum: `url` is the text of a .repo file, written verbatim as
 * /etc/yum.repos.d/NAME.repo. An armored key is saved as
 * /etc/pki/rpm-gpg/RPM-GPG-KEY-NAME, for `gpgkey=file://...` in that text.
 * yum rebuilds its rpm database first, as distrobuilder does (images built
 * with another rpm version otherwise refuse to open it).
 */
export const rpm: RepositoryHandler = {
  managers: ['dnf', 'yum'],
  async add(ctx) {
    const name = fileName(ctx.repo, ctx.step);
    const base = name.replace(/\.repo$/, '');
    if (ctx.plan.definition.packages?.manager === 'yum') await ctx.run({ argv: ['rpmdb', '--rebuilddb'] });
    await writeFileInRoot(ctx.rootfs, `/etc/yum.repos.d/${base}.repo`, withNewline(ctx.repo.url ?? ''), {
      mode: 0o644,
    });
    if (ctx.repo.key) {
      if (!isArmoredKey(ctx.repo.key))
        throw new KilnError(
          `${ctx.step}: repository '${name}' key must be an armored public key for ${ctx.plan.definition.packages?.manager}`,
        );
      await writeFileInRoot(ctx.rootfs, `/etc/pki/rpm-gpg/RPM-GPG-KEY-${base}`, withNewline(ctx.repo.key), {
        mode: 0o644,
      });
    }
  },
};
