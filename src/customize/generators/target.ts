import type { Plan } from '../../plan/types.js';
import { KilnError } from '../../util/errors.js';

export function targetType(plan: Plan): 'container' | 'vm' {
  return plan.definition?.targets?.type ?? 'container';
}

/**
 * fstab and incus-agent only make sense for Incus virtual machines. An entry
 * that reaches a container build was not filtered with `types: [vm]`, which
 * distrobuilder reports as an error for LXC; kiln does so for every container.
 */
export function requireIncusVm(plan: Plan, step: string, generator: string): void {
  if (targetType(plan) === 'vm' && plan.targets.includes('incus')) return;
  const lxc = plan.targets.includes('lxc') ? 'LXC images and ' : '';
  throw new KilnError(
    `${step}: generator '${generator}' is not supported for ${lxc}containers; it applies to Incus virtual machines only (add 'types: [vm]' to the entry)`,
  );
}
