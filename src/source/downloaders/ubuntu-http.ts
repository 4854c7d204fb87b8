import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture } from '../distro-arch.js';
import { fetchListing, pickNewest } from '../listing.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';

const UBUNTU_ARCHES = ['amd64', 'arm64', 'armhf', 'riscv64', 'ppc64el', 's390x', 'i386'];
const BY_KERNEL = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  armv7l: 'armhf',
  riscv64: 'riscv64',
  ppc64le: 'ppc64el',
  s390x: 's390x',
  i686: 'i386',
};

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(ctx.step.source.url, 'ubuntu-http', 'the ubuntu-base image tree (https://<cdimage>/ubuntu-base)');
  if (ctx.definition.image.variant === 'core') {
    throw new SourceError(
      'image.variant "core": ubuntu-http builds from ubuntu-base tarballs; Ubuntu Core disk images are not supported',
    );
  }
  const arch = distroArchitecture(ctx.definition, 'Ubuntu', UBUNTU_ARCHES, BY_KERNEL);
  const release = ctx.definition.image.release;
  // releases/ holds both version directories and codename symlinks (noble -> 24.04).
  const dir = `${url}/releases/${release}/release/`;
  const entries = await fetchListing(dir, ctx);
  const pattern = new RegExp(`^ubuntu-base-(\\d+\\.\\d+(?:\\.\\d+)?)-base-${escapeRegExp(arch)}\\.tar\\.gz$`);
  const version = pickNewest(
    dir,
    entries,
    pattern,
    `ubuntu-base tarball for ${arch} (ubuntu-base-<version>-base-${arch}.tar.gz)`,
    { directory: false },
  ).version;
  const tarball = `${dir}ubuntu-base-${version}-base-${arch}.tar.gz`;
  return {
    artifact: {
      url: tarball,
      sums: { url: `${dir}SHA256SUMS`, signature: { kind: 'detached', url: `${dir}SHA256SUMS.gpg` } },
    },
    resolved: { release, version, architecture: arch },
    immutable: true,
  };
}

/**
 * Ubuntu base: `<url>/releases/<codename|version>/release/ubuntu-base-<version>-base-<arch>.tar.gz`,
 * the newest point release from the listing, proven by SHA256SUMS and its
 * detached SHA256SUMS.gpg.
 */
export const ubuntuHttp = artifactDownloader({
  name: 'ubuntu-http',
  locate,
  async install(ctx, verified) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack ubuntu-base');
  },
});
