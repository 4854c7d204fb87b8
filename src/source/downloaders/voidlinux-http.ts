import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture, KERNEL_NAMES } from '../distro-arch.js';
import { fetchListing, pickNewest } from '../listing.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';

const VOID_ARCHES = ['x86_64', 'i686', 'aarch64', 'armv7l', 'armv6l'];

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(
    ctx.step.source.url,
    'voidlinux-http',
    'the Void live images directory (https://<mirror>/live/current/)',
  );
  const arch = distroArchitecture(ctx.definition, 'Void Linux', VOID_ARCHES, KERNEL_NAMES);
  const variant = ctx.step.source.variant ?? '';
  if (variant !== '' && variant !== 'musl')
    throw new SourceError(`source.variant "${variant}": Void's variants are "" (glibc) and musl`);
  const flavour = variant ? `${arch}-${variant}` : arch;
  const dir = `${url}/`;
  const entries = await fetchListing(dir, ctx);
  const pattern = new RegExp(`^void-${escapeRegExp(flavour)}-ROOTFS-(\\d{8})\\.tar\\.xz$`);
  const date = pickNewest(
    dir,
    entries,
    pattern,
    `Void ROOTFS tarball for ${flavour} (void-${flavour}-ROOTFS-YYYYMMDD.tar.xz)`,
    { directory: false },
  ).version;
  const tarball = `${dir}void-${flavour}-ROOTFS-${date}.tar.xz`;
  return {
    artifact: {
      url: tarball,
      sums: { url: `${dir}sha256sum.txt`, signature: { kind: 'detached', url: `${dir}sha256sum.sig` } },
    },
    resolved: { date, architecture: arch, ...(variant ? { variant } : {}) },
    immutable: true,
  };
}

/**
 * Void Linux ROOTFS tarballs: the newest `void-<arch>[-musl]-ROOTFS-<date>.tar.xz`
 * of the listing at `url`, proven by sha256sum.txt and its detached
 * sha256sum.sig (an OpenPGP signature, as distrobuilder reads it).
 */
export const voidlinuxHttp = artifactDownloader({
  name: 'voidlinux-http',
  locate,
  async install(ctx, verified) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack Void ROOTFS');
  },
});
