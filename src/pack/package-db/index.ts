import { apk } from './apk.js';
import { dpkg } from './dpkg.js';
import { pacman } from './pacman.js';
import { rpm } from './rpm.js';
import type { PackageDb } from './types.js';

export type { InstalledPackage, PackageDb } from './types.js';

/** Every package database kiln reads for the SBOM, by name. */
export const packageDbs: Record<string, PackageDb> = { dpkg, apk, rpm, pacman };
