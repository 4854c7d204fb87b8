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
export const generators: Record<string, Generator> = Object.fromEntries(
  [dump, copy, template, hostname, hosts, remove, cloudInit, incusAgent, fstab].map((g) => [g.name, g]),
);
