import { MirrorTree } from '../fixtures.js';
import { ociArchive } from './oci.js';

export const DNF_STUB = '#!/bin/sh\necho "dnf $*" >> /var/log/dnf-stub.log\nexit 0\n';

export interface FedoraMirror {
  tree: MirrorTree;
  /** `<release>/<arch>` -> archive bytes and manifest digest. */
  images: Map<string, { archive: Buffer; manifestDigest: string }>;
}

/**
 * Koji's packages/Fedora-Container-Base-Generic/<release>/<build>/images/
 * (Apache autoindex), two builds per release (the newer one wins), an OCI
 * archive per architecture plus logs/ and data/ beside images/.
 */
export async function fedoraMirror(releases: string[], opts: { arches?: string[] } = {}): Promise<FedoraMirror> {
  const tree = new MirrorTree('apache');
  const images = new Map<string, { archive: Buffer; manifestDigest: string }>();
  for (const release of releases) {
    for (const build of ['20250110.0', '20250115.0']) {
      const dir = `/packages/Fedora-Container-Base-Generic/${release}/${build}`;
      for (const arch of opts.arches ?? ['x86_64', 'aarch64']) {
        const image = await ociArchive(
          { 'etc/fedora-release': `Fedora release ${release} (${build})\n`, 'usr/bin/dnf': DNF_STUB },
          { architecture: arch === 'x86_64' ? 'amd64' : 'arm64' },
        );
        if (build === '20250115.0') images.set(`${release}/${arch}`, image);
        tree.add(`${dir}/images/Fedora-Container-Base-Generic-${release}-${build}.${arch}.oci.tar.xz`, image.archive);
        tree.add(`${dir}/logs/${arch}/build.log`, 'log\n');
      }
      tree.add(`${dir}/data/logs/image/oz-x86_64.log`, 'log\n');
    }
  }
  return { tree, images };
}
