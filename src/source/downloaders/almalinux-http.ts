import { rhelRebuildDownloader } from '../rhel-rebuild.js';

/** AlmaLinux: `<url>/<major>/isos/<arch>/AlmaLinux-<ver>-<arch>-<variant>.iso`, clearsigned CHECKSUM, a minimal tree installed from it. */
export const almalinuxHttp = rhelRebuildDownloader({
  name: 'almalinux-http',
  distribution: 'AlmaLinux',
  mirror: 'an AlmaLinux mirror (https://<mirror>/almalinux)',
  isoPrefix: 'AlmaLinux-',
  releasePackage: 'almalinux-release',
  checksumSignature: () => ({ kind: 'clearsigned' }),
});
