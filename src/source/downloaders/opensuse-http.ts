import type { ProbeContext } from '../types.js';
import { distroArchitecture, KERNEL_NAMES } from '../distro-arch.js';
import { fetchListing, matching, noMatch } from '../listing.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';

const SUSE_ARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x'];
/** Tumbleweed's container images are built per architecture family in their own OBS repository. */
const TW_REPOSITORY: Record<string, string> = {
  x86_64: 'container',
  aarch64: 'container_ARM',
  ppc64le: 'container_PowerPC',
  s390x: 'container_zSystems',
};

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(
    ctx.step.source.url,
    'opensuse-http',
    'an openSUSE download mirror (https://<mirror>/download or the MirrorCache root)',
  );
  const arch = distroArchitecture(ctx.definition, 'openSUSE', SUSE_ARCHES, KERNEL_NAMES);
  const release = ctx.definition.image.release.toLowerCase();
  const tumbleweed = release === 'tumbleweed';
  const dir = tumbleweed
    ? `${url}/repositories/Virtualization:/containers:/images:/openSUSE-Tumbleweed/${TW_REPOSITORY[arch]}/`
    : `${url}/distribution/leap/${ctx.definition.image.release}/appliances/`;
  const flavour = tumbleweed ? 'tumbleweed' : 'leap';
  const entries = await fetchListing(dir, ctx);
  const candidates = matching(entries, new RegExp(`^opensuse-${flavour}-image.*${escapeRegExp(arch)}.*\\.tar\\.xz$`), {
    directory: false,
  });
  // The listing links every build and a moving unversioned name; the newest build is a fixed file, so it wins.
  const lxc = candidates.filter((c) => /lxc/i.test(c.entry.name));
  const pool = lxc.length > 0 ? lxc : candidates;
  const builds = pool
    .map((c) => ({ c, build: /Build(\d+(?:\.\d+)*)/.exec(c.entry.name)?.[1] }))
    .filter((b): b is { c: (typeof pool)[number]; build: string } => b.build !== undefined);
  builds.sort((a, b) => compareBuilds(b.build, a.build));
  const chosen = builds[0]?.c ?? pool[0];
  if (!chosen)
    throw noMatch(dir, entries, `openSUSE ${flavour} image for ${arch} (opensuse-${flavour}-image*${arch}*.tar.xz)`);
  const tarball = chosen.entry.url;
  return {
    artifact: { url: tarball, sums: { url: `${tarball}.sha256`, signature: { kind: 'clearsigned' } } },
    resolved: {
      release: ctx.definition.image.release,
      architecture: arch,
      ...(builds[0] ? { build: builds[0].build } : {}),
    },
    ...(builds[0] ? { immutable: true } : {}),
  };
}

function compareBuilds(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * openSUSE Tumbleweed (OBS `Virtualization:/containers:/images:/openSUSE-Tumbleweed/container*`)
 * and Leap (`distribution/leap/<release>/appliances/`) image tarballs, the
 * newest Build picked; proven by the clearsigned `.sha256` (never read
 * unsigned when keys are set).
 */
export const opensuseHttp = artifactDownloader({
  name: 'opensuse-http',
  locate,
  async install(ctx, verified) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack openSUSE image');
  },
});
