import type { Generator } from './types.js';
import { dump } from './dump.js';
import { hostname } from './hostname.js';
import { hosts } from './hosts.js';
import { remove } from './remove.js';
import { template } from './template.js';

/** The file generators by name (definitions-spec section 3). */
export const generators: Record<string, Generator> = Object.fromEntries(
  [dump, hostname, hosts, remove, template].map((g) => [g.name, g]),
);
