import type { ManagerName } from '../../definition/registry-names.js';
import type { PackagesSection } from '../../definition/types.js';
import { anise } from './anise.js';
import { apk } from './apk.js';
import { apt } from './apt.js';
import { customManager } from './custom.js';
import { dnf } from './dnf.js';
import { egoportage } from './egoportage.js';
import { equo } from './equo.js';
import { opkg } from './opkg.js';
import { pacman } from './pacman.js';
import { portage } from './portage.js';
import { slackpkg } from './slackpkg.js';
import type { PackageManagerSpec } from './types.js';
import { xbps } from './xbps.js';
import { yum } from './yum.js';
import { zypper } from './zypper.js';

export type { PackageManagerSpec, RepositoryHandling } from './types.js';

/** The package managers by `packages.manager` name. */
const table: Record<ManagerName, PackageManagerSpec> = {
  apk,
  apt,
  dnf,
  egoportage,
  opkg,
  pacman,
  portage,
  yum,
  equo,
  xbps,
  zypper,
  anise,
  slackpkg,
};
// Typed by the one list of names (src/definition/registry-names.ts).
export const managers: Readonly<Record<string, PackageManagerSpec>> = table;

/** The manager a packages section selects, or undefined when it selects none. */
export function managerFor(packages: PackagesSection | undefined): PackageManagerSpec | undefined {
  if (!packages) return undefined;
  if (packages.custom_manager) return customManager(packages.custom_manager);
  return packages.manager === undefined ? undefined : managers[packages.manager];
}
