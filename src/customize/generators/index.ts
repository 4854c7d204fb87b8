import type { GeneratorName } from '../../definition/registry-names.js';
import type { Generator } from './types.js';
import { cloudInit } from './cloud-init.js';
import { copy } from './copy.js';
import { dump } from './dump.js';
import { fstab } from './fstab.js';
import { hostname } from './hostname.js';
import { hosts } from './hosts.js';
import { incusAgent } from './incus-agent.js';
import { remove } from './remove.js';
import { template } from './template.js';

/** The file generators by name (definitions-spec section 3). */
const table: Record<GeneratorName, Generator> = {
  dump,
  copy,
  template,
  hostname,
  hosts,
  remove,
  'cloud-init': cloudInit,
  'incus-agent': incusAgent,
  fstab,
};
// Typed by the one list of names (src/definition/registry-names.ts).
export const generators: Readonly<Record<string, Generator>> = table;
