/**
 * The one list of names of each registry, with the facts about each entry
 * that stages before it need (the schema, the plan). The definition stage
 * comes first, so the lists live here; each registry's table of
 * implementations is typed `Record<Name, Implementation>`, so an entry
 * added here without an implementation, or the other way round, does not
 * compile (src/source/downloaders/index.ts, src/customize/managers/index.ts,
 * src/customize/generators/index.ts).
 */

export interface DownloaderFacts {
  /** Takes `packages.sets` marked `early` (installed or removed by the bootstrap itself). */
  readonly earlyPackages?: boolean;
  /** Has no upstream of its own: the definition must give `source.url`. */
  readonly needsUrl?: boolean;
  /** Checks the archive's signed Release files itself, so `source.checksum` means nothing to it. */
  readonly verifiesOwnRelease?: boolean;
  /** A rule of this downloader alone: the key at fault and why, or undefined. */
  readonly check?: (source: SourceFacts, release: string | undefined) => { path: string; message: string } | undefined;
}

/** What a downloader's own rule may look at. */
export interface SourceFacts {
  readonly url?: string;
  readonly variant?: string;
  readonly same_as?: string;
}

export const DOWNLOADER_FACTS = {
  'almalinux-http': {},
  'alpinelinux-http': {
    check: (source, release) =>
      release === 'edge' && !source.same_as
        ? {
            path: 'source.same_as',
            message: 'alpinelinux-http builds edge from a numbered release: set source.same_as (for example 3.22)',
          }
        : undefined,
  },
  'archlinux-http': {},
  busybox: {},
  'centos-http': {},
  debootstrap: { earlyPackages: true, verifiesOwnRelease: true },
  'docker-http': { needsUrl: true },
  'fedora-http': {},
  'gentoo-http': {},
  mmdebstrap: { earlyPackages: true, verifiesOwnRelease: true },
  'nixos-http': {},
  'opensuse-http': {},
  'openwrt-http': {},
  'rockylinux-http': {},
  'rootfs-http': { needsUrl: true },
  'ubuntu-http': {},
  'voidlinux-http': {},
} as const satisfies Record<string, DownloaderFacts>;

export type DownloaderName = keyof typeof DOWNLOADER_FACTS;

/**
 * distrobuilder's downloaders that kiln does not implement: a definition
 * naming one is refused when it is validated, not when its build starts.
 */
export const DOWNLOADERS_NOT_IN_KILN = [
  'alpaquita-http',
  'alt-http',
  'apertis-http',
  'funtoo-http',
  'openeuler-http',
  'oraclelinux-http',
  'plamolinux-http',
  'rpmbootstrap',
  'sabayon-http',
  'slackware-http',
  'springdalelinux-http',
  'vyos-http',
] as const;

export const MANAGER_NAMES = [
  'apk',
  'apt',
  'dnf',
  'egoportage',
  'opkg',
  'pacman',
  'portage',
  'yum',
  'equo',
  'xbps',
  'zypper',
  'anise',
  'slackpkg',
] as const;

export type ManagerName = (typeof MANAGER_NAMES)[number];

export interface GeneratorFacts {
  /** Only meaningful in a VM image: skipped (with a note) for LXC targets. */
  readonly vmOnly?: boolean;
}

export const GENERATOR_FACTS = {
  dump: {},
  copy: {},
  template: {},
  hostname: {},
  hosts: {},
  remove: {},
  'cloud-init': {},
  'incus-agent': { vmOnly: true },
  fstab: { vmOnly: true },
} as const satisfies Record<string, GeneratorFacts>;

export type GeneratorName = keyof typeof GENERATOR_FACTS;

export const DOWNLOADER_NAMES = Object.keys(DOWNLOADER_FACTS) as DownloaderName[];
export const GENERATOR_NAMES = Object.keys(GENERATOR_FACTS) as GeneratorName[];

export function downloaderFacts(name: string): DownloaderFacts {
  return (DOWNLOADER_FACTS as Record<string, DownloaderFacts>)[name] ?? {};
}

export function generatorFacts(name: string): GeneratorFacts {
  return (GENERATOR_FACTS as Record<string, GeneratorFacts>)[name] ?? {};
}
