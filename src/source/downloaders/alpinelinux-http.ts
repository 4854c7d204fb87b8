import { readFile, writeFile } from 'node:fs/promises';
import { runStepInContainer } from '../../runtime/run-step.js';
import { log } from '../../util/events.js';
import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture } from '../distro-arch.js';
import { fetchListing, pickNewest } from '../listing.js';
import { safeRootPath } from '../root-path.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';

const ALPINE_ARCHES = ['x86', 'x86_64', 'armhf', 'armv7', 'aarch64', 'ppc64le', 's390x', 'riscv64', 'loongarch64'];
const BY_KERNEL = {
  i686: 'x86',
  x86_64: 'x86_64',
  armv6l: 'armhf',
  armv7l: 'armv7',
  aarch64: 'aarch64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loongarch64: 'loongarch64',
};

async function locate(ctx: ProbeContext): Promise<Located> {
  const src = ctx.step.source;
  const url = baseUrl(src.url, 'alpinelinux-http', 'an Alpine mirror, such as https://<mirror>/alpine/');
  const arch = distroArchitecture(ctx.definition, 'Alpine', ALPINE_ARCHES, BY_KERNEL);
  let release = ctx.definition.image.release;
  const edge = release === 'edge';
  if (edge) {
    if (!src.same_as)
      throw new SourceError(
        'source.same_as: Alpine edge is built from a numbered release (e.g. same_as: "3.21") that is then upgraded to edge; set it',
      );
    release = src.same_as;
  }
  const parts = release.split('.');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new SourceError(
      `image.release "${release}": Alpine releases are X.Y (newest X.Y.Z is used), X.Y.Z or edge (with source.same_as)`,
    );
  }
  const short = `v${parts[0]}.${parts[1]}`;
  const dir = `${url}/${short}/releases/${arch}/`;
  let full = release;
  if (parts.length === 2) {
    const entries = await fetchListing(dir, ctx);
    const pattern = new RegExp(
      `^alpine-minirootfs-(${escapeRegExp(release)}\\.\\d+)-${escapeRegExp(arch)}\\.tar\\.gz$`,
    );
    full = pickNewest(
      dir,
      entries,
      pattern,
      `Alpine ${release} minirootfs for ${arch} (alpine-minirootfs-${release}.N-${arch}.tar.gz)`,
      { directory: false },
    ).version;
  }
  const tarball = `${dir}alpine-minirootfs-${full}-${arch}.tar.gz`;
  return {
    artifact: {
      url: tarball,
      sums: { url: `${tarball}.sha256`, signature: { kind: 'unsigned' } },
      signature: `${tarball}.asc`,
    },
    resolved: { release: full, architecture: arch, ...(edge ? { same_as: release, upgraded_to: 'edge' } : {}) },
    // A numbered minirootfs never changes; edge is upgraded from the network, which no file here identifies.
    immutable: !edge,
  };
}

/**
 * Alpine's minirootfs: `<url>/v<X.Y>/releases/<arch>/alpine-minirootfs-<X.Y.Z>-<arch>.tar.gz`
 * (X.Y resolved to the newest X.Y.Z from the listing), proven by its
 * detached `.asc` (keys) or `.sha256`. `edge` starts from `same_as` and is
 * upgraded to edge inside the container.
 */
export const alpinelinuxHttp = artifactDownloader({
  name: 'alpinelinux-http',
  locate,
  async install(ctx, verified, located) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack Alpine minirootfs');
    if (ctx.definition.image.release !== 'edge') return;
    const short = `v${located.resolved.release!.split('.').slice(0, 2).join('.')}`;
    const repos = await safeRootPath(ctx.rootfs, 'etc/apk/repositories');
    const text = await readFile(repos, 'utf8').catch(() => {
      throw new SourceError(`${located.artifact.url}: the minirootfs has no /etc/apk/repositories to switch to edge`);
    });
    await writeFile(repos, text.split(`/${short}/`).join('/edge/'));
    log(ctx.sink, 'info', `alpinelinux-http: upgrading ${located.resolved.release} to edge`);
    await runStepInContainer({
      name: 'source',
      rootfs: ctx.rootfs,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' },
      argv: ['apk', 'upgrade', '--update-cache', '--available'],
      sink: ctx.sink,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  },
});
