import type { SourceContext } from './types.js';

/** Where debootstrap and mmdebstrap spell the same request differently. */
interface Dialect {
  leading: string[];
  archOption: string;
  /** Used when the definition names no components; empty leaves the choice to the tool. */
  defaultComponents: string[];
  remove(packages: string[]): string[];
  /** How to bootstrap from a mirror whose signature is not to be checked (skip_verification, no keys). */
  unverified(mirror: string, suite: string, components: string[]): { options: string[]; mirror: string };
}

const DIALECTS: Record<'debootstrap' | 'mmdebstrap', Dialect> = {
  debootstrap: {
    leading: [],
    archOption: '--arch',
    defaultComponents: [],
    remove: (packages) => [`--exclude=${packages.join(',')}`],
    unverified: (mirror) => ({ options: ['--no-check-gpg'], mirror }),
  },
  mmdebstrap: {
    leading: ['--mode=root'],
    archOption: '--architectures',
    // Its sources line for an unverified mirror has to name components.
    defaultComponents: ['main'],
    // mmdebstrap has no --exclude: the packages go once the root is complete.
    remove: (packages) => [
      `--customize-hook=chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get -y purge --allow-remove-essential ${packages.join(' ')}`,
    ],
    // mmdebstrap has no --no-check-gpg; a sources line can trust the mirror instead.
    unverified: (mirror, suite, components) => ({
      options: [],
      mirror: `deb [trusted=yes] ${mirror} ${suite} ${components.join(' ')}`,
    }),
  },
};

/**
 * The command line of a Debian bootstrapper for this source step: variant,
 * architecture, components, the early install/remove sets, the keyring (or
 * no verification), then suite, target root and mirror. `hooks` go after the
 * options derived from the definition, so they run after its purge hook.
 */
export function bootstrapArgs(
  tool: keyof typeof DIALECTS,
  ctx: SourceContext,
  opts: { suite: string; mirror: string; keyringFile?: string | undefined; hooks?: string[] | undefined },
): string[] {
  const dialect = DIALECTS[tool];
  const src = ctx.step.source;
  const { install, remove } = ctx.step.early;
  const components = src.components?.length ? src.components : dialect.defaultComponents;
  const args = [...dialect.leading];
  if (src.variant) args.push(`--variant=${src.variant}`);
  args.push(`${dialect.archOption}=${ctx.definition.image.architecture_mapped}`);
  if (components.length) args.push(`--components=${components.join(',')}`);
  if (install.length) args.push(`--include=${install.join(',')}`);
  if (remove.length) args.push(...dialect.remove(remove));
  let mirror = opts.mirror;
  if (opts.keyringFile) args.push(`--keyring=${opts.keyringFile}`);
  else if (src.skip_verification) {
    const unverified = dialect.unverified(opts.mirror, opts.suite, components);
    args.push(...unverified.options);
    mirror = unverified.mirror;
  }
  args.push(...(opts.hooks ?? []), opts.suite, ctx.rootfs, mirror);
  return args;
}
