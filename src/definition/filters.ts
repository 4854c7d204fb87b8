import type { Filters, ResolvedDefinition } from './types.js';
import type { TypeMask } from '../plan/types.js';

/**
 * Filter matching, exactly as distrobuilder's ApplyFilter (definitions-spec
 * section 1.10): every non-empty list must contain the current value
 * (release, *mapped* architecture, variant); `types` depends on the mask the
 * phase passes:
 * - no types on the entry: matches when the mask accepts untyped entries
 *   (or the mask is empty);
 * - two types: matches when the mask accepts "all" and the current target
 *   type is listed;
 * - otherwise (and also for two types): matches when the mask accepts the
 *   current target type and the entry lists it.
 */
export function matchesFilters(entry: Filters, def: ResolvedDefinition, mask: TypeMask): boolean {
  const { releases, architectures, variants, types } = entry;
  if (releases && releases.length > 0 && !releases.includes(def.image.release)) return false;
  if (architectures && architectures.length > 0 && !architectures.includes(def.image.architecture_mapped)) return false;
  if (variants && variants.length > 0 && !variants.includes(def.image.variant)) return false;
  const empty = !mask.undefined && !mask.all && !mask.container && !mask.vm;
  if (!types || types.length === 0) return mask.undefined || empty;
  const current = def.targets?.type ?? 'container';
  if (!types.includes(current)) return false;
  if (mask.all && types.length === 2) return true;
  return current === 'container' ? mask.container : mask.vm;
}

const mask = (undefinedOk: boolean, all: boolean, container: boolean, vm: boolean): TypeMask =>
  Object.freeze({ undefined: undefinedOk, all, container, vm });

/**
 * What a full build passes (distrobuilder's build-lxc / build-incus
 * [--vm]): untyped entries, entries for the current type, and entries for
 * both. The current type itself comes from `targets.type`.
 */
export const BUILD_MASK: TypeMask = mask(true, true, true, true);
/** build-dir: untyped entries only. */
export const UNTYPED_MASK: TypeMask = mask(true, false, false, false);
/** pack-lxc / pack-incus: typed entries only (the untyped ones ran in build-dir). */
export const TYPED_ONLY_MASK: TypeMask = mask(false, true, true, true);

/** The mask each phase of a kiln build uses (kiln always does a full build). */
export const PHASE_MASKS = Object.freeze({
  repositories: BUILD_MASK,
  postUnpack: BUILD_MASK,
  packages: BUILD_MASK,
  postUpdate: BUILD_MASK,
  postPackages: BUILD_MASK,
  files: BUILD_MASK,
  postFiles: BUILD_MASK,
  lxcConfig: BUILD_MASK,
  environment: BUILD_MASK,
  /** Early package sets go to the bootstrapper and only ever match untyped entries. */
  earlyPackages: UNTYPED_MASK,
});
