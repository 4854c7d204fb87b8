import { matchesFilters, PHASE_MASKS } from '../definition/filters.js';
import { downloaderFacts } from '../definition/registry-names.js';
import type { PackageSet, ResolvedDefinition } from '../definition/types.js';
import type { PackageManagerSpec } from '../customize/managers/index.js';
import type { PackageCommandStep } from './types.js';

interface IndexedSet {
  set: PackageSet;
  path: string;
}

/**
 * `early: true` sets that the bootstrapper installs or excludes. They only
 * match untyped filters. With a downloader that has no bootstrapper the
 * sets stay in the normal flow (distrobuilder silently drops them).
 */
export function earlyPackages(def: ResolvedDefinition): { install: string[]; remove: string[] } {
  const out = { install: [] as string[], remove: [] as string[] };
  if (!downloaderFacts(def.source.downloader).earlyPackages) return out;
  for (const set of def.packages?.sets ?? []) {
    if (!set.early || !matchesFilters(set, def, PHASE_MASKS.earlyPackages)) continue;
    out[set.action].push(...set.packages);
  }
  return out;
}

/** The sets of the normal flow, filtered, in definition order. */
export function normalSets(def: ResolvedDefinition): IndexedSet[] {
  const early = downloaderFacts(def.source.downloader).earlyPackages === true;
  const out: IndexedSet[] = [];
  (def.packages?.sets ?? []).forEach((set, i) => {
    if (early && set.early) return;
    if (matchesFilters(set, def, PHASE_MASKS.packages)) out.push({ set, path: `packages.sets[${i}]` });
  });
  return out;
}

const sameFlags = (a: string[] | undefined, b: string[] | undefined): boolean =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** Consecutive sets with the same action and identical flags become one command (order kept). */
export function mergeSets(
  sets: IndexedSet[],
): Array<{ action: 'install' | 'remove'; flags: string[]; packages: string[]; origin: string[] }> {
  const out: Array<{ action: 'install' | 'remove'; flags: string[]; packages: string[]; origin: string[] }> = [];
  for (const { set, path } of sets) {
    const last = out[out.length - 1];
    if (last && last.action === set.action && sameFlags(last.flags, set.flags)) {
      last.packages.push(...set.packages);
      last.origin.push(path);
    } else out.push({ action: set.action, flags: [...(set.flags ?? [])], packages: [...set.packages], origin: [path] });
  }
  return out;
}

export interface PackageFlow {
  refresh?: PackageCommandStep;
  update?: PackageCommandStep;
  sets: PackageCommandStep[];
  clean?: PackageCommandStep;
}

/**
 * distrobuilder's ManagePackages: nothing at all (not even a refresh) when
 * no set matches and `update` is off; otherwise refresh, [upgrade, then
 * post-update actions], the merged sets, [clean]. The caller puts the
 * post-update actions between `update` and `sets`.
 */
export function packageFlow(
  def: ResolvedDefinition,
  mgr: PackageManagerSpec | undefined,
  pin: (pkg: string) => string = (pkg) => pkg,
): PackageFlow {
  const sets = normalSets(def);
  const update = def.packages?.update ?? false;
  if (!mgr || (sets.length === 0 && !update)) return { sets: [] };
  const step = (
    name: string,
    phase: PackageCommandStep['phase'],
    argv: string[],
    origin?: string[],
  ): PackageCommandStep =>
    origin ? { kind: 'packages', name, phase, argv, origin } : { kind: 'packages', name, phase, argv };
  const flow: PackageFlow = { sets: [] };
  if (mgr.refresh) flow.refresh = step('packages.refresh', 'refresh', [...mgr.refresh]);
  if (update && mgr.update) flow.update = step('packages.update', 'update', [...mgr.update]);
  const counters = { install: 0, remove: 0 };
  for (const m of mergeSets(sets)) {
    const base = m.action === 'install' ? mgr.install : mgr.remove;
    const packages = m.action === 'install' ? m.packages.map(pin) : m.packages;
    flow.sets.push(
      step(`packages.${m.action}[${counters[m.action]++}]`, m.action, [...base, ...m.flags, ...packages], m.origin),
    );
  }
  if (def.packages?.cleanup && mgr.clean) flow.clean = step('packages.clean', 'clean', [...mgr.clean]);
  return flow;
}
