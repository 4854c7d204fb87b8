import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstalledPackage, PackageDb } from './types.js';

/** Paragraphs of a deb822 file as field maps (continuation lines dropped: nothing here needs them). */
export function parseDeb822(text: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  let cur = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur.size > 0) out.push(cur);
      cur = new Map();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) cur.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  if (cur.size > 0) out.push(cur);
  return out;
}

/** /var/lib/dpkg/status, the database dpkg-query reads. */
export const dpkg: PackageDb = {
  name: 'dpkg',
  async read(root, ctx) {
    const text = await readFile(join(root, 'var/lib/dpkg/status'), 'utf8').catch(() => null);
    if (text === null) return null;
    const ns = `deb/${ctx.distribution.toLowerCase()}`;
    const pkgs: InstalledPackage[] = [];
    for (const p of parseDeb822(text)) {
      const status = p.get('Status') ?? '';
      // What `dpkg-query -W` lists, minus packages of which only config files are left.
      const state = status.split(' ')[2] ?? '';
      if (state === '' || state === 'not-installed' || state === 'config-files') continue;
      const name = p.get('Package');
      const version = p.get('Version');
      if (!name || !version) continue;
      const arch = p.get('Architecture');
      pkgs.push({ name, version, ...(arch ? { arch } : {}), purlType: ns });
    }
    return pkgs;
  },
};
