import type { ResolvedDefinition } from '../definition/types.js';
import type { InternalStep } from './types.js';

/**
 * Steps kiln adds to every plan by itself; src/customize/internal runs them
 * by `what`.
 */
const internal = (what: string): InternalStep => ({ kind: 'internal', name: what, what });

/** Debian-style images: services must not start while packages are installed. */
export function policyRcdSteps(def: ResolvedDefinition): { install: InternalStep; remove: InternalStep } | undefined {
  if (def.packages?.manager !== 'apt') return undefined;
  return { install: internal('policy-rc.d:install'), remove: internal('policy-rc.d:remove') };
}

/** The LXC systemd generator, written before post-files actions (it does nothing without /etc/systemd). */
export function systemdGeneratorStep(): InternalStep {
  return internal('lxc-systemd-generator');
}

/** With `--lock`: apt prefers exactly the locked versions while the build installs anything. */
export function aptLockSteps(): { pin: InternalStep; unpin: InternalStep } {
  return { pin: internal('apt-lock:pin'), unpin: internal('apt-lock:unpin') };
}

/** apt images: the Release files the packages came from, read before an action drops apt's lists. */
export function aptListsStep(def: ResolvedDefinition): InternalStep | undefined {
  return def.packages?.manager === 'apt' ? internal('apt-lists:record') : undefined;
}
