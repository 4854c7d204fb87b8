import type { RepositoryHandler } from './types.js';
import { fileName, withNewline } from './common.js';
import { readFileInRoot, writeFileInRoot } from '../file-ops.js';

/** apk: the URL line(s) appended to /etc/apk/repositories; the key saved as /etc/apk/keys/NAME. */
export const apk: RepositoryHandler = {
  managers: ['apk'],
  async add(ctx) {
    const name = fileName(ctx.repo, ctx.step);
    const existing = (await readFileInRoot(ctx.rootfs, '/etc/apk/repositories')) ?? '';
    await writeFileInRoot(
      ctx.rootfs,
      '/etc/apk/repositories',
      `${withNewline(existing)}${withNewline(ctx.repo.url ?? '')}`,
      { mode: 0o644 },
    );
    if (ctx.repo.key)
      await writeFileInRoot(ctx.rootfs, `/etc/apk/keys/${name}`, withNewline(ctx.repo.key), { mode: 0o644 });
  },
};
