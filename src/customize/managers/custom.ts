import type { CustomManager, CustomManagerCommand } from '../../definition/types.js';
import type { PackageManagerSpec } from './types.js';

/**
 * `packages.custom_manager`: each command is `cmd`, the global flags, then
 * its own flags. distrobuilder silently skips a custom command whose own
 * flag list is empty; kiln runs it.
 */
export function customManager(def: CustomManager): PackageManagerSpec {
  const argv = (c: CustomManagerCommand): string[] => [c.cmd, ...(def.flags ?? []), ...(c.flags ?? [])];
  return {
    name: 'custom',
    refresh: argv(def.refresh),
    update: argv(def.update),
    install: argv(def.install),
    remove: argv(def.remove),
    clean: argv(def.clean),
    repositories: { handler: null, description: 'ignored' },
  };
}
