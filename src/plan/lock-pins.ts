import { productArch } from '../definition/index.js';
import type { ResolvedDefinition } from '../definition/types.js';
import type { PackageManagerSpec } from '../customize/managers/index.js';
import { LockError, lockKey, type BuildLock, type LockedInput, type LockedPackage } from './lock.js';

/** The lock a plan carries: where it came from and what it pins. */
export interface PlanLock {
  file: string;
  packages: LockedPackage[];
  /** What upstream served when the lock was made. */
  inputs: LockedInput[];
}

/** Package databases whose versions apt can pin. */
const APT_DATABASES = new Set(['dpkg']);

/**
 * Checks that `lock` belongs to this build and that kiln can pin its
 * packages, before anything is downloaded.
 */
export function checkLockFits(
  lock: BuildLock,
  file: string,
  def: ResolvedDefinition,
  mgr: PackageManagerSpec | undefined,
): PlanLock {
  const want = {
    distribution: def.image.distribution,
    release: def.image.release,
    arch: productArch(def),
    variant: def.image.variant,
  };
  const id = (p: typeof want): string => `${p.distribution}/${p.release}/${p.arch}/${p.variant}`;
  if (id(lock.product) !== id(want))
    throw new LockError(`--lock ${file}: the lock is for ${id(lock.product)}, this build is ${id(want)}`);
  const pinsPackages = lock.packages.length > 0 && mgr !== undefined;
  if (pinsPackages && mgr.name !== 'apt')
    throw new LockError(
      `--lock ${file}: pinning package versions is not supported for ${mgr.name} (kiln pins apt's); build without --lock`,
    );
  const foreign = lock.databases.filter((d) => !APT_DATABASES.has(d));
  if (pinsPackages && foreign.length)
    throw new LockError(`--lock ${file}: the lock lists ${foreign.join(', ')} packages, which apt cannot pin`);
  return { file, packages: lock.packages, inputs: lock.inputs };
}

/**
 * `pkg` as apt should install it under the lock: `name=version`, or
 * `name:arch=version`. A package the lock does not list (the build removes
 * it again) and one the definition already pins are left alone.
 */
export function pinnerFor(lock: PlanLock, nativeArch: string): (pkg: string) => string {
  const byKey = new Map(lock.packages.map((p) => [lockKey(p), p.version]));
  return (pkg) => {
    if (/[=/]/.test(pkg)) return pkg;
    const version = pkg.includes(':')
      ? byKey.get(pkg)
      : (byKey.get(pkg) ?? byKey.get(`${pkg}:${nativeArch}`) ?? byKey.get(`${pkg}:all`));
    return version === undefined ? pkg : `${pkg}=${version}`;
  };
}

/**
 * apt_preferences(5) for every locked package at priority 1001, so the
 * dependencies apt picks itself (and an upgrade) also get the locked version.
 */
export function aptPreferences(lock: PlanLock, nativeArch: string): string {
  const stanzas = lock.packages.map((p) => {
    const name = p.arch && p.arch !== nativeArch && p.arch !== 'all' ? `${p.name}:${p.arch}` : p.name;
    return `Package: ${name}\nPin: version ${p.version}\nPin-Priority: 1001\n`;
  });
  return `# Written by kiln for a build from ${lock.file}; removed before packing.\n\n${stanzas.join('\n')}`;
}
