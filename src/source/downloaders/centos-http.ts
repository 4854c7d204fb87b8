import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { fetchListing, pickNewest } from '../listing.js';
import { majorOf, rhelArchitecture } from '../rhel-family.js';
import { installFromIso } from '../rhel-iso.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';

function isStream(release: string): boolean {
  return /-stream$/i.test(release) || Number(majorOf(release)) >= 9;
}

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(ctx.step.source.url, 'centos-http', 'a CentOS mirror (https://<mirror>/centos or centos-stream)');
  const arch = rhelArchitecture(ctx, 'CentOS');
  const release = ctx.definition.image.release;
  const major = majorOf(release);
  if (!/^\d+$/.test(major))
    throw new SourceError(`image.release "${release}": CentOS releases are 7, 8, 9-stream, 10-stream, ...`);
  if (isStream(release)) {
    // Stream: <url>/<N>-stream/BaseOS/<arch>/iso/CentOS-Stream-<N>-<YYYYMMDD.n>-<arch>-<variant>.iso, SHA256SUM beside it.
    const variant = ctx.step.source.variant || 'dvd1';
    const dir = `${url}/${major}-stream/BaseOS/${arch}/iso/`;
    const entries = await fetchListing(dir, ctx);
    const pattern = new RegExp(
      `^CentOS-Stream-${major}-(\\d{8}\\.\\d+)-${escapeRegExp(arch)}-${escapeRegExp(variant)}\\.iso$`,
    );
    const build = pickNewest(
      dir,
      entries,
      pattern,
      `CentOS Stream ${major} ISO (CentOS-Stream-${major}-<YYYYMMDD.n>-${arch}-${variant}.iso)`,
      { directory: false },
    );
    return {
      artifact: { url: build.entry.url, sums: { url: `${dir}SHA256SUM`, signature: { kind: 'unsigned' } } },
      resolved: { release: `${major}-stream`, build: build.version, architecture: arch, variant },
      immutable: true,
    };
  }
  // CentOS Linux 7/8: <url>/<release>/isos/<arch>/CentOS-<ver>-<arch>-<Variant>-<build>.iso, clearsigned sha256sum.txt.asc (7) or CHECKSUM (8).
  const variant = ctx.step.source.variant || 'Minimal';
  const dir = `${url}/${release}/isos/${arch}/`;
  // 7 names ISOs CentOS-7-<arch>-<Variant>-<build>.iso, 8 CentOS-8.5.2111-<arch>-<variant>.iso.
  const entries = await fetchListing(dir, ctx);
  const pattern = new RegExp(
    `^CentOS-(${major}(?:\\.\\d+)*)-${escapeRegExp(arch)}-${escapeRegExp(variant)}(?:-(\\d+))?\\.iso$`,
  );
  const chosen = pickNewest(
    dir,
    entries,
    pattern,
    `CentOS ${major} ISO (CentOS-${major}[.N]-${arch}-${variant}[-<build>].iso)`,
    { directory: false },
  );
  const iso = {
    url: chosen.entry.url,
    version: chosen.match[2] ? `${chosen.version}.${chosen.match[2]}` : chosen.version,
  };
  const sums =
    major === '7'
      ? { url: `${dir}sha256sum.txt.asc`, signature: { kind: 'clearsigned' as const } }
      : { url: `${dir}CHECKSUM`, signature: { kind: 'clearsigned' as const } };
  return {
    artifact: { url: iso.url, sums },
    resolved: { release: iso.version, architecture: arch, variant },
    immutable: true,
  };
}

/** CentOS Stream (BaseOS/<arch>/iso/, SHA256SUM) and CentOS Linux 7/8 ISOs, a minimal tree installed from them. */
export const centosHttp = artifactDownloader({
  name: 'centos-http',
  locate,
  async install(ctx, verified, located) {
    const stream = /-stream$/.test(located.resolved.release!);
    const releasePackage = stream ? 'centos-stream-release' : 'centos-release';
    return {
      resolved: await installFromIso(ctx, verified.file.path, {
        releasePackage,
        releasever: majorOf(located.resolved.release!),
        what: located.artifact.url,
      }),
    };
  },
});
