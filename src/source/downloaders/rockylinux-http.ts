import { rhelRebuildDownloader } from '../rhel-rebuild.js';

/** Rocky Linux: `<url>/<major>/isos/<arch>/Rocky-<ver>-<arch>-<variant>.iso`, a minimal tree installed from it. */
export const rockylinuxHttp = rhelRebuildDownloader({
  name: 'rockylinux-http',
  distribution: 'Rocky Linux',
  mirror: 'a Rocky Linux mirror (https://<mirror>/rocky)',
  isoPrefix: 'Rocky-',
  releasePackage: 'rocky-release',
  // Rocky signs CHECKSUM from 10 on; 8 and 9 publish it unsigned.
  checksumSignature: (dir, major) =>
    major >= 10 ? { kind: 'detached', url: `${dir}CHECKSUM.asc` } : { kind: 'unsigned' },
});
