import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture } from '../distro-arch.js';
import { hoistDirectory } from '../hoist.js';
import { fetchListing, noMatch, pickNewest } from '../listing.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl } from '../url.js';

const ARCH_ARCHES = ['x86_64', 'aarch64', 'armv7', 'riscv64'];
const BY_KERNEL = { x86_64: 'x86_64', aarch64: 'aarch64', armv7l: 'armv7', riscv64: 'riscv64' };
/** Releases that mean "the newest dated bootstrap". */
const LATEST = ['', 'current', 'latest'];

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(
    ctx.step.source.url,
    'archlinux-http',
    'the Arch ISO directory (https://<mirror>/iso/), or the Arch Linux ARM / RISC-V mirror',
  );
  const arch = distroArchitecture(ctx.definition, 'Arch Linux', ARCH_ARCHES, BY_KERNEL);
  if (arch === 'riscv64') {
    const tarball = `${url}/images/archriscv-latest.tar.zst`;
    return { artifact: { url: tarball, signature: `${tarball}.sig` }, resolved: { architecture: arch } };
  }
  if (arch !== 'x86_64') {
    const tarball = `${url}/os/ArchLinuxARM-${arch}-latest.tar.gz`;
    return { artifact: { url: tarball, signature: `${tarball}.sig` }, resolved: { architecture: arch } };
  }
  let release = ctx.definition.image.release;
  if (LATEST.includes(release)) {
    const top = await fetchListing(`${url}/`, ctx);
    release = pickNewest(`${url}/`, top, /^(\d{4}\.\d{2}\.\d{2})$/, 'dated release directory (YYYY.MM.DD/)', {
      directory: true,
    }).version;
  } else if (!/^\d{4}\.\d{2}\.\d{2}$/.test(release)) {
    throw new SourceError(
      `image.release "${release}": Arch releases are dates (YYYY.MM.DD) or current/latest for the newest`,
    );
  }
  // Bootstraps were .tar.gz until 2023 and .tar.zst since; the listing says which.
  const dir = `${url}/${release}/`;
  const entries = await fetchListing(dir, ctx);
  const names = new Set(entries.map((e) => e.name));
  const base = `archlinux-bootstrap-${release}-x86_64`;
  const name = [`${base}.tar.zst`, `${base}.tar.gz`].find((n) => names.has(n));
  if (!name) throw noMatch(dir, entries, `bootstrap tarball (${base}.tar.zst)`);
  const tarball = `${dir}${name}`;
  // sha256sums.txt is unsigned: it only serves skip_verification as an integrity check.
  const sums = names.has('sha256sums.txt')
    ? { sums: { url: `${dir}sha256sums.txt`, signature: { kind: 'unsigned' as const } } }
    : {};
  return {
    artifact: { url: tarball, signature: `${tarball}.sig`, ...sums },
    resolved: { release, architecture: arch },
    immutable: true,
  };
}

/**
 * Arch Linux: x86_64 from the dated bootstrap (`<url>/<YYYY.MM.DD>/archlinux-bootstrap-<date>-x86_64.tar.zst`,
 * newest date for current/latest, `root.x86_64/` hoisted), Arch Linux ARM
 * (`<url>/os/ArchLinuxARM-<arch>-latest.tar.gz`) and Arch RISC-V
 * (`<url>/images/archriscv-latest.tar.zst`); each proven by its detached `.sig`.
 */
export const archlinuxHttp = artifactDownloader({
  name: 'archlinux-http',
  locate,
  async install(ctx, verified, located) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack Arch bootstrap');
    if (located.resolved.architecture === 'x86_64')
      await hoistDirectory(ctx.rootfs, 'root.x86_64', located.artifact.url, ctx.sink);
  },
});
