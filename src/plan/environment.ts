import { matchesFilters, PHASE_MASKS } from '../definition/filters.js';
import type { ResolvedDefinition } from '../definition/types.js';

/** The variables every command starts with unless `environment.clear_defaults` (definitions-spec 1.9). */
export const DEFAULT_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
  SHELL: '/bin/sh',
  TERM: 'xterm',
  DEBIAN_FRONTEND: 'noninteractive',
});

/**
 * The environment of every command run inside the image. Unlike
 * distrobuilder, nothing is inherited from the host, and `types: [vm]`
 * variables apply from the first step of a VM build.
 */
export function planEnvironment(def: ResolvedDefinition): Record<string, string> {
  const env: Record<string, string> = def.environment?.clear_defaults ? {} : { ...DEFAULT_ENVIRONMENT };
  for (const v of def.environment?.variables ?? []) {
    if (matchesFilters(v, def, PHASE_MASKS.environment)) env[v.key] = v.value;
  }
  return env;
}
