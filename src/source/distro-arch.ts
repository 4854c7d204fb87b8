import { lookupArchitecture } from '../definition/architectures.js';
import type { ResolvedDefinition } from '../definition/types.js';
import { SourceError } from './errors.js';

/**
 * The architecture name an upstream layout uses. The definition's mapped
 * name wins when the distribution knows it (so an architecture map or a
 * custom `architectures` entry is honoured as written); a name the layout
 * does not use (`arm64` from a map that leaves it alone, `amd64` without a
 * map) is translated through its kernel name.
 */
export function distroArchitecture(
  definition: ResolvedDefinition,
  distribution: string,
  known: readonly string[],
  byKernel: Readonly<Record<string, string>>,
): string {
  const mapped = definition.image.architecture_mapped;
  if (known.includes(mapped)) return mapped;
  const kernel = lookupArchitecture(mapped)?.kernel ?? lookupArchitecture(definition.image.architecture)?.kernel;
  const name = kernel ? byKernel[kernel] : undefined;
  if (name) return name;
  throw new SourceError(
    `image.architecture ${definition.image.architecture} (mapped: ${mapped}) has no ${distribution} build; ${distribution} publishes ${known.join(', ')}`,
  );
}

/** Kernel names as most RPM distributions (and NixOS, Void, Arch) spell them. */
export const KERNEL_NAMES: Readonly<Record<string, string>> = {
  x86_64: 'x86_64',
  aarch64: 'aarch64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  i686: 'i686',
  armv7l: 'armv7l',
  armv6l: 'armv6l',
  loongarch64: 'loongarch64',
};
