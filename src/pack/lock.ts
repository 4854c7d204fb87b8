import { join } from 'node:path';
import { productArch } from '../definition/index.js';
import { LOCK_VERSION, type BuildLock, type LockedInput, type LockedRepository } from '../plan/lock.js';
import type { ResolvedDefinition } from '../definition/types.js';
import { sha256File } from './hash.js';
import type { InstalledPackage } from './package-db/index.js';
import { sortedJson } from './sorted-json.js';
import type { RootEntry } from './walk.js';

const APT_LISTS = 'var/lib/apt/lists/';

/**
 * The Release and InRelease files apt left in the image: which state of each
 * repository the installed packages came from. Read from the walk's
 * entries, so only regular files inside the root count.
 */
export async function aptRepositoryIndexes(rootfs: string, entries: RootEntry[]): Promise<LockedRepository[]> {
  const out: LockedRepository[] = [];
  for (const e of entries) {
    if (e.type !== 'file' || !e.path.startsWith(APT_LISTS)) continue;
    const file = e.path.slice(APT_LISTS.length);
    if (file.includes('/') || !/_(In)?Release$/.test(file)) continue;
    out.push({ file, sha256: (await sha256File(join(rootfs, e.path))).sha256 });
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** build.lock.json's content: sorted, with nothing that depends on the clock or the serial. */
export function lockDocument(
  def: ResolvedDefinition,
  kilnVersion: string,
  resolved: { plan: string; inputs: LockedInput[] },
  found: { packages: InstalledPackage[]; databases: string[] },
  repositories: LockedRepository[],
): string {
  const lock: BuildLock = {
    lockVersion: LOCK_VERSION,
    kiln: kilnVersion,
    product: {
      distribution: def.image.distribution,
      release: def.image.release,
      arch: productArch(def),
      variant: def.image.variant,
    },
    plan: resolved.plan,
    inputs: [...resolved.inputs].sort((a, b) => (a.url < b.url ? -1 : 1)),
    repositories,
    databases: [...found.databases].sort(),
    packages: found.packages.map((p) =>
      p.arch ? { name: p.name, version: p.version, arch: p.arch } : { name: p.name, version: p.version },
    ),
  };
  return sortedJson(lock);
}
