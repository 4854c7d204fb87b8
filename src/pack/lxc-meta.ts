import { KilnError } from '../util/errors.js';
import type { Plan } from '../plan/types.js';
import type { EventSink } from '../util/events.js';
import { log } from '../util/events.js';
import type { SmallMember } from './small-tar.js';

const CONFIG_NAME = /^config(-user)?(\.[1-9])?$/;

/**
 * The members of LXC's meta.tar.xz (image-server-spec 1.7), in
 * distrobuilder's order, names without `./`. The config files arrive
 * rendered from the plan (compat levels already split into `config.N`).
 */
export function lxcMetaMembers(opts: {
  plan: Plan;
  templates: string[];
  expiryDate: number;
  excludesUser: string[];
  sink: EventSink;
}): SmallMember[] {
  const lxc = opts.plan.lxc;
  if (lxc === undefined) {
    throw new KilnError(`${opts.plan.definitionFile}: the plan has no LXC target but the lxc format was asked for`);
  }
  const configs = Object.keys(lxc.configFiles).sort();
  for (const name of configs) {
    if (!CONFIG_NAME.test(name)) {
      throw new KilnError(
        `LXC config file name "${name}" is not one LXC reads: use config, config-user, config.N or config-user.N`,
      );
    }
  }
  if (!configs.includes('config')) {
    // lxc-download refuses such an image ("meta tarball is missing the configuration file").
    log(
      opts.sink,
      'warn',
      `${opts.plan.definitionFile}: targets.lxc.config gives no system config for the current compat level: LXC's download template will refuse this image`,
    );
  }
  const lines = (xs: string[]) => xs.map((x) => `${x}\n`).join('');
  const members: SmallMember[] = [
    { name: 'create-message', content: `${lxc.createMessage}\n` },
    { name: 'expiry', content: `${opts.expiryDate}\n` },
    { name: 'excludes-user', content: lines(opts.excludesUser) },
  ];
  for (const name of configs) members.push({ name, content: lxc.configFiles[name] });
  if (opts.templates.length > 0) members.push({ name: 'templates', content: lines(opts.templates) });
  return members;
}

/** An image can run unprivileged when LXC finds a user config for it. */
export function hasUserConfig(plan: Plan): boolean {
  return Object.keys(plan.lxc?.configFiles ?? {}).some((n) => n.startsWith('config-user'));
}
