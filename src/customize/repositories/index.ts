import type { RepositoryHandler } from './types.js';
import { apt } from './apt.js';
import { apk } from './apk.js';
import { rpm } from './rpm.js';
import { zypper } from './zypper.js';
import { pacman } from './pacman.js';
import { anise, equo } from './equo-anise.js';

/** Repository handlers by package manager; managers not listed have no repositories. */
export const repositoryHandlers: Record<string, RepositoryHandler> = Object.fromEntries(
  [apt, apk, rpm, zypper, pacman, equo, anise].flatMap((h) => h.managers.map((m) => [m, h])),
);
