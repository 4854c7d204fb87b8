import type { ProbeContext } from '../types.js';
import { majorOf, pickIso, rhelArchitecture } from '../rhel-family.js';
import { installFromIso } from '../rhel-iso.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl } from '../url.js';

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(ctx.step.source.url, 'almalinux-http', 'an AlmaLinux mirror (https://<mirror>/almalinux)');
  const arch = rhelArchitecture(ctx, 'AlmaLinux');
  const variant = ctx.step.source.variant || 'minimal';
  const release = ctx.definition.image.release;
  const dir = `${url}/${majorOf(release)}/isos/${arch}/`;
  const iso = await pickIso(ctx, dir, release, 'AlmaLinux-', `-${arch}-${variant}.iso`, 'AlmaLinux');
  return {
    artifact: { url: iso.url, sums: { url: `${dir}CHECKSUM`, signature: { kind: 'clearsigned' } } },
    resolved: { release: iso.version, architecture: arch, variant },
    immutable: true,
  };
}

/** AlmaLinux: `<url>/<major>/isos/<arch>/AlmaLinux-<ver>-<arch>-<variant>.iso`, clearsigned CHECKSUM, a minimal tree installed from it. */
export const almalinuxHttp = artifactDownloader({
  name: 'almalinux-http',
  locate,
  async install(ctx, verified, located) {
    return { resolved: await installFromIso(ctx, verified.file.path, { releasePackage: 'almalinux-release', releasever: majorOf(located.resolved.release!), what: located.artifact.url }) };
  },
});
