import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Generator, GeneratorContext } from './types.js';
import { writeFileInRoot } from '../file-ops.js';
import { resolveInRoot } from '../safe-path.js';
import { KilnError } from '../../util/errors.js';
import { log } from '../../util/events.js';

const NAMES = ['user-data', 'meta-data', 'vendor-data', 'network-config'] as const;
type SeedName = (typeof NAMES)[number];

const OPENRC_SERVICES = new Set(['cloud-init-local', 'cloud-config', 'cloud-init', 'cloud-final']);

const EMPTY_CLOUD_CONFIG = '#cloud-config\n{}';

function dhcpOn(iface: string): string {
  return `version: 1\nconfig:\n  - type: physical\n    name: ${iface}\n    subnets:\n      - type: dhcp\n        control: auto`;
}

/**
 * The NoCloud seed files Incus renders at create and copy time. The
 * instance's `cloud-init.*` keys win over the older `user.*` keys, which win
 * over the image's default (the `default` property).
 */
export function seedTemplate(name: SeedName): { template: string; defaultValue?: string } {
  switch (name) {
    case 'user-data':
    case 'vendor-data':
      return {
        template: `{{ config_get("cloud-init.${name}", config_get("user.${name}", properties.default)) }}\n`,
        defaultValue: EMPTY_CLOUD_CONFIG,
      };
    case 'meta-data':
      return {
        template:
          'instance-id: {{ container.name }}\nlocal-hostname: {{ container.name }}\n{{ config_get("user.meta-data", "") }}\n',
      };
    case 'network-config':
      return {
        template:
          '{% if config_get("cloud-init.network-config", "") != "" %}{{ config_get("cloud-init.network-config", "") }}' +
          '{% elif config_get("user.network-config", "") != "" %}{{ config_get("user.network-config", "") }}' +
          '{% elif properties.default %}{{ properties.default }}' +
          `{% elif instance.type == "virtual-machine" %}${dhcpOn('enp5s0')}` +
          `{% else %}${dhcpOn('eth0')}{% endif %}\n`,
      };
  }
}

/** The OpenRC runlevel links that start cloud-init, root-relative. */
async function openrcLinks(rootfs: string): Promise<string[]> {
  const runlevels = await resolveInRoot(rootfs, '/etc/runlevels');
  let levels: string[] = [];
  try {
    if ((await lstat(runlevels)).isDirectory()) levels = await readdir(runlevels);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const links: string[] = [];
  for (const level of levels.sort()) {
    const dir = path.join(runlevels, level);
    const st = await lstat(dir);
    if (!st.isDirectory()) continue;
    for (const entry of (await readdir(dir)).sort()) {
      const p = path.join(dir, entry);
      if (OPENRC_SERVICES.has(entry) && (await lstat(p)).isSymbolicLink()) links.push(path.relative(rootfs, p));
    }
  }
  return links;
}

const DISABLE_FILE = 'etc/cloud/cloud-init.disabled';

/** LXC has no seed: cloud-init is switched off, for OpenRC and for systemd, in the root itself. */
async function disableCloudInit({ rootfs }: GeneratorContext): Promise<void> {
  for (const link of await openrcLinks(rootfs)) await rm(path.join(rootfs, link));
  await writeFileInRoot(rootfs, `/${DISABLE_FILE}`, '', { mode: 0o644 });
}

/** The same switch-off, for rootfs.tar.xz only: the root keeps cloud-init for Incus. */
async function disableCloudInitForLxcOnly({ rootfs, metadata }: GeneratorContext): Promise<void> {
  const delta = (metadata.lxcOnly ??= { remove: [], add: [] });
  for (const link of await openrcLinks(rootfs)) if (!delta.remove.includes(link)) delta.remove.push(link);
  if (!delta.add.some((f) => f.path === DISABLE_FILE)) delta.add.push({ path: DISABLE_FILE, content: '', mode: 0o644 });
}

function incusTemplates({ entry, metadata }: GeneratorContext, name: SeedName): void {
  const { template, defaultValue } = seedTemplate(name);
  let properties: Record<string, string> = {};
  const def = entry.content ? entry.content : defaultValue;
  if (def !== undefined) properties.default = def;
  if (entry.template?.properties && Object.keys(entry.template.properties).length > 0)
    properties = { ...entry.template.properties };
  const file = `cloud-init-${name}.tpl`;
  const target = entry.path || `/var/lib/cloud/seed/nocloud-net/${name}`;
  metadata.incusTemplateFiles[file] = template;
  metadata.incusTemplates[target] = {
    template: file,
    when: ['create', 'copy'],
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
  };
}

/**
 * LXC: cloud-init disabled. Incus: the NoCloud seed as templates. When one
 * root serves both (kiln's default), the root keeps cloud-init for Incus and
 * rootfs.tar.xz alone carries the switch-off (see LxcRootDelta).
 */
export const cloudInit: Generator = {
  name: 'cloud-init',
  async run(ctx) {
    const { entry, step, plan, sink } = ctx;
    const name = entry.name as SeedName;
    if (!NAMES.includes(name))
      throw new KilnError(`${step}: cloud-init name '${entry.name ?? ''}' must be one of ${NAMES.join(', ')}`);
    const incus = plan.targets.includes('incus');
    if (incus) incusTemplates(ctx, name);
    if (plan.targets.includes('lxc')) {
      if (!incus) await disableCloudInit(ctx);
      else {
        await disableCloudInitForLxcOnly(ctx);
        log(
          sink,
          'info',
          'cloud-init is disabled in rootfs.tar.xz only: the Incus image keeps it for its NoCloud seed',
          step,
        );
      }
    }
  },
};
