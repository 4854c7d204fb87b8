/**
 * Architecture names: the Incus alias table (kernel name, aliases,
 * personality), distrobuilder's preset maps, and the Debian-style names the
 * image indexes use.
 */

interface Arch {
  /** Kernel name, the canonical Incus name. */
  kernel: string;
  aliases: readonly string[];
  personality: 'linux32' | 'linux64';
  /** Name used in image indexes and simplestreams products. */
  product: string;
}

const ARCHES: readonly Arch[] = [
  { kernel: 'i686', aliases: ['i386', 'i586', '386', 'x86', 'generic_32'], personality: 'linux32', product: 'i386' },
  {
    kernel: 'x86_64',
    aliases: ['amd64', 'generic_64', 'x86_64_v1', 'x86_64_v2', 'x86_64_v3', 'x86_64_v4'],
    personality: 'linux64',
    product: 'amd64',
  },
  { kernel: 'armv6l', aliases: ['armel', 'arm'], personality: 'linux32', product: 'armel' },
  {
    kernel: 'armv7l',
    aliases: ['armhf', 'armhfp', 'armv7a_hardfp', 'armv7', 'armv7a_vfpv3_hardfp'],
    personality: 'linux32',
    product: 'armhf',
  },
  { kernel: 'armv8l', aliases: [], personality: 'linux32', product: 'armv8l' },
  { kernel: 'aarch64', aliases: ['arm64', 'arm64_generic'], personality: 'linux64', product: 'arm64' },
  { kernel: 'ppc', aliases: ['powerpc'], personality: 'linux32', product: 'powerpc' },
  { kernel: 'ppc64', aliases: ['powerpc64'], personality: 'linux64', product: 'ppc64' },
  { kernel: 'ppc64le', aliases: ['ppc64el'], personality: 'linux64', product: 'ppc64el' },
  { kernel: 's390x', aliases: [], personality: 'linux64', product: 's390x' },
  { kernel: 'mips', aliases: ['mipsel', 'mipsle'], personality: 'linux32', product: 'mipsel' },
  { kernel: 'mips64', aliases: ['mips64el', 'mips64le'], personality: 'linux64', product: 'mips64el' },
  { kernel: 'riscv32', aliases: [], personality: 'linux32', product: 'riscv32' },
  { kernel: 'riscv64', aliases: [], personality: 'linux64', product: 'riscv64' },
  { kernel: 'loongarch64', aliases: ['loong64'], personality: 'linux64', product: 'loong64' },
];

const BY_NAME = new Map<string, Arch>();
for (const a of ARCHES) {
  BY_NAME.set(a.kernel, a);
  for (const alias of a.aliases) BY_NAME.set(alias, a);
}

/** Every name image.architecture accepts. */
export const ARCHITECTURE_NAMES: readonly string[] = [...BY_NAME.keys()];

/**
 * distrobuilder's preset tables, keyed by kernel name (the lookup goes
 * through the alias table, so `amd64` and `x86_64` both hit `x86_64`).
 * Anything not listed passes through as typed.
 */
export const ARCHITECTURE_MAPS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  alpinelinux: { i686: 'x86', x86_64: 'x86_64', armv7l: 'armv7' },
  altlinux: { i686: 'i586', x86_64: 'x86_64', aarch64: 'aarch64' },
  archlinux: { x86_64: 'x86_64', armv7l: 'armv7', aarch64: 'aarch64' },
  centos: { i686: 'i386' },
  debian: {
    i686: 'i386',
    x86_64: 'amd64',
    armv7l: 'armhf',
    aarch64: 'arm64',
    ppc: 'powerpc',
    ppc64: 'powerpc64',
    ppc64le: 'ppc64el',
  },
  gentoo: {
    i686: 'i686',
    x86_64: 'amd64',
    armv7l: 'armv7a_hardfp',
    ppc: 'ppc',
    ppc64: 'ppc64',
    ppc64le: 'ppc64le',
    s390x: 's390x',
  },
  openwrt: { x86_64: 'x86-64', armv7l: 'armsr-armv7', aarch64: 'armsr-armv8' },
  plamolinux: { i686: 'x86' },
  voidlinux: { i686: 'i686', x86_64: 'x86_64', armv7l: 'armv7l', aarch64: 'aarch64' },
  funtoo: { i686: 'generic_32', x86_64: 'generic_64', armv7l: 'armv7a_vfpv3_hardfp', aarch64: 'arm64_generic' },
  slackware: { i686: 'i586', x86_64: 'x86_64' },
};

export const ARCHITECTURE_MAP_NAMES: readonly string[] = Object.keys(ARCHITECTURE_MAPS);

export function lookupArchitecture(name: string): Arch | undefined {
  return BY_NAME.get(name);
}

export function isKnownArchitecture(name: string): boolean {
  return BY_NAME.has(name);
}

/**
 * image.architecture_mapped, as distrobuilder computes it: a preset map wins
 * over a custom map; the custom map is a literal lookup on the typed name;
 * `armel` is always `armel` with a preset.
 */
export function mapArchitecture(
  typed: string,
  presetName: string | undefined,
  custom: Readonly<Record<string, string>> | undefined,
): string {
  if (presetName) {
    if (typed === 'armel') return 'armel';
    const arch = BY_NAME.get(typed);
    const table = ARCHITECTURE_MAPS[presetName];
    if (!arch || !table) return typed;
    return table[arch.kernel] ?? typed;
  }
  if (custom && Object.keys(custom).length > 0) return custom[typed] ?? typed;
  return typed;
}

/** The Debian-style name clients use in image indexes (amd64, arm64, armhf, ...). */
export function productArchitecture(typed: string): string {
  const arch = BY_NAME.get(typed);
  return arch ? arch.product : typed;
}
