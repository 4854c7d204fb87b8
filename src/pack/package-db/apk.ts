import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstalledPackage, PackageDb } from './types.js';

/** /lib/apk/db/installed: one-letter fields, blank line between packages. */
export const apk: PackageDb = {
  name: 'apk',
  async read(root, ctx) {
    const text = await readFile(join(root, 'lib/apk/db/installed'), 'utf8').catch(() => null);
    if (text === null) return null;
    const pkgs: InstalledPackage[] = [];
    const ns = `apk/${ctx.distribution.toLowerCase()}`;
    for (const block of text.split(/\n\s*\n/)) {
      const f = new Map<string, string>();
      for (const line of block.split('\n'))
        if (line[1] === ':' && !f.has(line[0] as string)) f.set(line[0] as string, line.slice(2));
      const name = f.get('P');
      const version = f.get('V');
      if (!name || !version) continue;
      const arch = f.get('A');
      const license = f.get('L');
      pkgs.push({ name, version, ...(arch ? { arch } : {}), ...(license ? { license } : {}), purlType: ns });
    }
    return pkgs;
  },
};
