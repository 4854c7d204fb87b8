import type { Downloader, ProbeContext } from './types.js';
import { majorOf, pickIso, rhelArchitecture } from './rhel-family.js';
import { installFromIso } from './rhel-iso.js';
import { artifactDownloader, type Located, type SumsSignature } from './upstream.js';
import { baseUrl } from './url.js';

/**
 * A RHEL rebuild whose mirror lays out `<url>/<major>/isos/<arch>/` with
 * `<isoPrefix><ver>-<arch>-<variant>.iso` and a CHECKSUM file beside them.
 */
export interface RhelRebuild {
  /** The downloader's name (`source.downloader`). */
  name: string;
  /** The distribution as messages name it. */
  distribution: string;
  /** What `source.url` should point at, for the message when it is missing. */
  mirror: string;
  isoPrefix: string;
  /** The package that makes the installed tree this distribution. */
  releasePackage: string;
  /** How the CHECKSUM in `dir` is signed: some rebuilds changed that between major releases. */
  checksumSignature(dir: string, major: number): SumsSignature;
}

/** A downloader that installs a minimal tree from the newest matching ISO of a RHEL rebuild. */
export function rhelRebuildDownloader(distro: RhelRebuild): Downloader {
  async function locate(ctx: ProbeContext): Promise<Located> {
    const url = baseUrl(ctx.step.source.url, distro.name, distro.mirror);
    const arch = rhelArchitecture(ctx, distro.distribution);
    const variant = ctx.step.source.variant || 'minimal';
    const release = ctx.definition.image.release;
    const major = majorOf(release);
    const dir = `${url}/${major}/isos/${arch}/`;
    const iso = await pickIso(ctx, dir, release, distro.isoPrefix, `-${arch}-${variant}.iso`, distro.distribution);
    return {
      artifact: {
        url: iso.url,
        sums: { url: `${dir}CHECKSUM`, signature: distro.checksumSignature(dir, Number(major)) },
      },
      resolved: { release: iso.version, architecture: arch, variant },
      immutable: true,
    };
  }
  return artifactDownloader({
    name: distro.name,
    locate,
    async install(ctx, verified, located) {
      return {
        resolved: await installFromIso(ctx, verified.file.path, {
          releasePackage: distro.releasePackage,
          releasever: majorOf(located.resolved.release!),
          what: located.artifact.url,
        }),
      };
    },
  });
}
