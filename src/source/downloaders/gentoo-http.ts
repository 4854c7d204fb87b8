import { lstat, readdir, rename, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture } from '../distro-arch.js';
import { fetchListing, pickNewest } from '../listing.js';
import { safeRootPath } from '../root-path.js';
import { unpackArchive } from '../unpack/index.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, fetchArtifact, probeArtifact, type Artifact, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';
import type { SumEntry } from '../verify/sums.js';

const GENTOO_ARCHES = [
  'amd64',
  'i686',
  'arm64',
  'armv7a_hardfp',
  'armv6j_hardfp',
  'ppc',
  'ppc64',
  'ppc64le',
  's390x',
  'rv64_lp64d',
];
const BY_KERNEL = {
  x86_64: 'amd64',
  i686: 'i686',
  aarch64: 'arm64',
  armv7l: 'armv7a_hardfp',
  armv6l: 'armv6j_hardfp',
  ppc: 'ppc',
  ppc64: 'ppc64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'rv64_lp64d',
};
/** The releases/<dir> each stage3 architecture lives under. */
const TOP_ARCH: Record<string, string> = {
  amd64: 'amd64',
  i686: 'x86',
  arm64: 'arm64',
  armv7a_hardfp: 'arm',
  armv6j_hardfp: 'arm',
  ppc: 'ppc',
  ppc64: 'ppc',
  ppc64le: 'ppc',
  s390x: 's390',
  rv64_lp64d: 'riscv',
};

/**
 * Gentoo's DIGESTS: `# BLAKE2B HASH` / `# SHA512 HASH` headers, each
 * followed by `HEX  name` lines. Only the SHA512 section is read (a 128-hex
 * BLAKE2B line would otherwise pass for sha512).
 */
export function parseGentooDigests(text: string): Map<string, SumEntry> {
  const out = new Map<string, SumEntry>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^#\s*(\S+)\s+HASH/i.exec(line);
    if (header) {
      section = header[1]!.toUpperCase();
      continue;
    }
    const m = /^([0-9a-fA-F]{128})\s+\*?(\S+)$/.exec(line.trim());
    if (m && section === 'SHA512') out.set(m[2]!, { algorithm: 'sha512', hex: m[1]!.toLowerCase() });
  }
  return out;
}

function portageArtifact(url: string): Artifact {
  const tarball = `${url}/snapshots/portage-latest.tar.xz`;
  return { url: tarball, signature: `${tarball}.gpgsig` };
}

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(ctx.step.source.url, 'gentoo-http', 'a Gentoo distfiles mirror (https://<mirror>/gentoo)');
  const arch = distroArchitecture(ctx.definition, 'Gentoo', GENTOO_ARCHES, BY_KERNEL);
  const variant = ctx.step.source.variant ?? '';
  const flavour = variant ? `${arch}-${variant}` : arch;
  const dir = `${url}/releases/${TOP_ARCH[arch]}/autobuilds/current-stage3-${flavour}/`;
  const entries = await fetchListing(dir, ctx);
  const pattern = new RegExp(`^stage3-${escapeRegExp(flavour)}-(\\d{8}T\\d{6}Z)\\.tar\\.xz$`);
  const stamp = pickNewest(dir, entries, pattern, `stage3 tarball (stage3-${flavour}-<YYYYMMDDTHHMMSSZ>.tar.xz)`, {
    directory: false,
  }).version;
  const tarball = `${dir}stage3-${flavour}-${stamp}.tar.xz`;
  return {
    artifact: {
      url: tarball,
      sums: { url: `${tarball}.DIGESTS`, signature: { kind: 'clearsigned' }, parse: parseGentooDigests },
    },
    resolved: { stage3: stamp, architecture: arch, ...(variant ? { variant } : {}) },
    immutable: true,
  };
}

/**
 * Gentoo: the newest stage3 of `<url>/releases/<toparch>/autobuilds/current-stage3-<arch>[-<variant>]/`
 * (clearsigned .DIGESTS, SHA512), then the portage snapshot
 * (`snapshots/portage-latest.tar.xz`, detached .gpgsig) as /var/db/repos/gentoo.
 */
export const gentooHttp = artifactDownloader({
  name: 'gentoo-http',
  locate,
  async install(ctx, verified) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack stage3');
    const url = baseUrl(ctx.step.source.url, 'gentoo-http', 'a Gentoo distfiles mirror');
    const portage = await fetchArtifact(ctx, portageArtifact(url));
    const repos = await safeRootPath(ctx.rootfs, 'var/db/repos', { create: 'dirs' });
    const target = path.join(repos, 'gentoo');
    for (const name of ['portage', 'gentoo']) {
      const st = await lstat(path.join(repos, name)).catch(() => undefined);
      if (!st) continue;
      // An empty placeholder directory is replaced; anything else is not ours to overwrite.
      if (st.isDirectory() && (await readdir(path.join(repos, name))).length === 0) await rmdir(path.join(repos, name));
      else
        throw new SourceError(
          `${verified.input.url}: the stage3 already has /var/db/repos/${name}; kiln does not overwrite it with the portage snapshot`,
        );
    }
    // The snapshot's single top directory is portage/; it becomes the gentoo repository.
    await unpackArchive(portage.file.path, repos, {
      sink: ctx.sink,
      signal: ctx.signal,
      limits: ctx.limits,
      task: 'unpack portage snapshot',
    });
    await rename(path.join(repos, 'portage'), target).catch((e: NodeJS.ErrnoException) => {
      throw new SourceError(
        `${portage.file.url}: expected a portage/ directory in the snapshot (${e.code ?? e.message})`,
      );
    });
    return { inputs: [portage.input, ...portage.proofs], resolved: { portage: portage.file.url } };
  },
  async probeExtra(ctx) {
    const url = baseUrl(ctx.step.source.url, 'gentoo-http', 'a Gentoo distfiles mirror');
    return (await probeArtifact(ctx, portageArtifact(url)))?.parts ?? {};
  },
});
