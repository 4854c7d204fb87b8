import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { rawTar } from '../../source/archives.js';
import { busyboxArchive, scratch, sha256, tarOf } from '../fixtures.js';

export interface OciArchive {
  archive: Buffer;
  manifestDigest: string;
}

/**
 * An OCI image layout archive as `skopeo copy ... oci-archive:` writes it:
 * two layers (a busybox root with /etc/motd, then a layer whiting out
 * /etc/motd and adding `files`), config, manifest, index.json, oci-layout.
 */
export async function ociArchive(
  files: Record<string, string>,
  opts: { architecture?: string; corruptLayer?: boolean } = {},
): Promise<OciArchive> {
  const s = scratch('oci');
  try {
    const blobs = path.join(s.dir, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const put = (b: Buffer): { digest: string; size: number } => {
      const hex = sha256(b);
      writeFileSync(path.join(blobs, hex), b);
      return { digest: `sha256:${hex}`, size: b.length };
    };
    const base = busyboxArchive({ 'etc/motd': 'welcome from the base layer\n' }, 'gzip');
    const top = await rawTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.motd', content: '' },
      ...Object.entries(files).map(([name, content]) => ({
        name,
        content,
        mode: content.startsWith('#!') ? 0o755 : 0o644,
      })),
    ]);
    const layerType = 'application/vnd.oci.image.layer.v1.tar+gzip';
    const l1 = put(base);
    // Layers are gzip-compressed, like Fedora's.
    const topGz = gzipSync(top);
    const l2 = put(topGz);
    if (opts.corruptLayer)
      writeFileSync(path.join(blobs, l2.digest.slice(7)), Buffer.concat([topGz, Buffer.from('x')]));
    const config = put(
      Buffer.from(
        JSON.stringify({
          architecture: opts.architecture ?? 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [] },
          config: {},
        }),
      ),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [
          { mediaType: layerType, ...l1 },
          { mediaType: layerType, ...l2 },
        ],
      }),
    );
    const m = put(manifest);
    writeFileSync(path.join(s.dir, 'oci-layout'), '{"imageLayoutVersion": "1.0.0"}');
    writeFileSync(
      path.join(s.dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...m,
            annotations: { 'org.opencontainers.image.ref.name': 'latest' },
          },
        ],
      }),
    );
    return { archive: tarOf(s.dir, 'xz'), manifestDigest: m.digest };
  } finally {
    s.remove();
  }
}
