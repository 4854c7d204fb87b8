import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveInRoot } from '../safe-path.js';
import type { InternalAction } from './types.js';

const LISTS = '/var/lib/apt/lists';

/**
 * Right after the packages are installed, the Release files apt installed
 * them from: the state of every repository, for build.lock.json. Taken now
 * because images drop /var/lib/apt/lists before they are packed.
 */
export const aptListsRecord: InternalAction = {
  what: 'apt-lists:record',
  async run(ctx) {
    let dir: string;
    let names: string[];
    try {
      dir = await resolveInRoot(ctx.rootfs, LISTS);
      names = await readdir(dir);
    } catch {
      return;
    }
    const out: { file: string; sha256: string }[] = [];
    for (const file of names.filter((n) => /_(In)?Release$/.test(n)).sort()) {
      const full = path.join(dir, file);
      if (!(await lstat(full)).isFile()) continue;
      out.push({
        file,
        sha256: createHash('sha256')
          .update(await readFile(full))
          .digest('hex'),
      });
    }
    ctx.metadata.aptIndexes = out;
  },
};
