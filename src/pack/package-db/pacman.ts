import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstalledPackage, PackageDb } from './types.js';

/** /var/lib/pacman/local/<name>-<version>/desc: `%FIELD%` followed by value lines. */
export function parsePacmanDesc(text: string): Map<string, string[]> {
  const f = new Map<string, string[]>();
  let key: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^%([A-Z0-9]+)%$/.exec(line);
    if (m) {
      key = m[1] as string;
      f.set(key, []);
    } else if (line === '') key = null;
    else if (key) f.get(key)?.push(line);
  }
  return f;
}

export const pacman: PackageDb = {
  name: 'pacman',
  async read(root, ctx) {
    const dir = join(root, 'var/lib/pacman/local');
    const names = await readdir(dir).catch(() => null);
    if (names === null) return null;
    const pkgs: InstalledPackage[] = [];
    for (const entry of names.sort()) {
      const text = await readFile(join(dir, entry, 'desc'), 'utf8').catch(() => null);
      if (text === null) continue;
      const f = parsePacmanDesc(text);
      const name = f.get('NAME')?.[0];
      const version = f.get('VERSION')?.[0];
      if (!name || !version) continue;
      const arch = f.get('ARCH')?.[0];
      const licenses = f.get('LICENSE') ?? [];
      pkgs.push({
        name,
        version,
        ...(arch ? { arch } : {}),
        ...(licenses.length > 0 ? { license: licenses.join(' AND ') } : {}),
        purlType: `alpm/${ctx.distribution.toLowerCase()}`,
      });
    }
    return pkgs;
  },
};
