import type { InternalAction } from './types.js';
import { policyRcdInstall, policyRcdRemove } from './policy-rc-d.js';
import { lxcSystemdGenerator } from './lxc-systemd-generator.js';
import { aptLockPin, aptLockUnpin } from './apt-lock.js';
import { aptListsRecord } from './apt-lists.js';

/** Internal steps by `what` (src/plan/internal-steps.ts places them in the plan). */
export const internalActions: Record<string, InternalAction> = Object.fromEntries(
  [policyRcdInstall, policyRcdRemove, lxcSystemdGenerator, aptLockPin, aptLockUnpin, aptListsRecord].map((a) => [
    a.what,
    a,
  ]),
);
