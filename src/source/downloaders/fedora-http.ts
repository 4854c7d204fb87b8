import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture, KERNEL_NAMES } from '../distro-arch.js';
import { fetchListing, pickNewest } from '../listing.js';
import { applyOciArchive } from '../oci-layout.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl } from '../url.js';

const FEDORA_ARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x'];
const PACKAGE = 'Fedora-Container-Base-Generic';

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(
    ctx.step.source.url,
    'fedora-http',
    'the Koji package server (https://<koji>/), which holds packages/Fedora-Container-Base-Generic/',
  );
  const arch = distroArchitecture(ctx.definition, 'Fedora', FEDORA_ARCHES, KERNEL_NAMES);
  const release = ctx.definition.image.release;
  if (!/^(\d+|rawhide)$/.test(release))
    throw new SourceError(`image.release "${release}": Fedora releases are numbers (e.g. 42) or rawhide`);
  const dir = `${url}/packages/${PACKAGE}/${release}/`;
  const builds = await fetchListing(dir, ctx);
  const build = pickNewest(
    dir,
    builds,
    /^(\d{8}(?:\.n)?\.\d+)$/,
    `Koji build directory (YYYYMMDD.N/) of ${PACKAGE} ${release}`,
    { directory: true },
  ).version;
  const tarball = `${dir}${build}/images/${PACKAGE}-${release}-${build}.${arch}.oci.tar.xz`;
  // Koji publishes no checksum list or signature for these builds: source.checksum or skip_verification decides.
  return { artifact: { url: tarball }, resolved: { release, build, architecture: arch }, immutable: true };
}

/**
 * Fedora's container base image from Koji: the newest build under
 * `<url>/packages/Fedora-Container-Base-Generic/<release>/`, its
 * `images/...<arch>.oci.tar.xz` read as an OCI layout (every blob checked
 * against its digest, layers applied with whiteouts).
 */
export const fedoraHttp = artifactDownloader({
  name: 'fedora-http',
  locate,
  async install(ctx, verified, located) {
    const r = await applyOciArchive(ctx, verified.file.path, located.artifact.url);
    return { resolved: { manifest_digest: r.manifestDigest } };
  },
});
