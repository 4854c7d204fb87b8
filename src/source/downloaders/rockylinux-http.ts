import type { ProbeContext } from '../types.js';
import { majorOf, pickIso, rhelArchitecture } from '../rhel-family.js';
import { installFromIso } from '../rhel-iso.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl } from '../url.js';

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(ctx.step.source.url, 'rockylinux-http', 'a Rocky Linux mirror (https://<mirror>/rocky)');
  const arch = rhelArchitecture(ctx, 'Rocky Linux');
  const variant = ctx.step.source.variant || 'minimal';
  const release = ctx.definition.image.release;
  const dir = `${url}/${majorOf(release)}/isos/${arch}/`;
  const iso = await pickIso(ctx, dir, release, 'Rocky-', `-${arch}-${variant}.iso`, 'Rocky Linux');
  // Rocky signs CHECKSUM from 10 on; 8 and 9 publish it unsigned.
  const signed = Number(majorOf(release)) >= 10;
  return {
    artifact: { url: iso.url, sums: { url: `${dir}CHECKSUM`, signature: signed ? { kind: 'detached', url: `${dir}CHECKSUM.asc` } : { kind: 'unsigned' } } },
    resolved: { release: iso.version, architecture: arch, variant },
    immutable: true,
  };
}

/** Rocky Linux: `<url>/<major>/isos/<arch>/Rocky-<ver>-<arch>-<variant>.iso`, a minimal tree installed from it. */
export const rockylinuxHttp = artifactDownloader({
  name: 'rockylinux-http',
  locate,
  async install(ctx, verified, located) {
    return { resolved: await installFromIso(ctx, verified.file.path, { releasePackage: 'rocky-release', releasever: majorOf(located.resolved.release!), what: located.artifact.url }) };
  },
});
