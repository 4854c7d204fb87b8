import type { Downloader, FetchedInput, SourceContext, SourceRecord } from '../types.js';
import { log } from '../../util/events.js';
import { SourceError, VerificationError } from '../errors.js';
import { fetchCached } from '../download/cache.js';
import { parseReference } from '../docker/reference.js';
import { ociPlatform } from '../docker/platform.js';
import {
  INDEX_TYPES,
  MANIFEST_TYPES,
  RegistryClient,
  type Descriptor,
  type Fetched,
} from '../docker/registry-client.js';
import { parseChecksum } from '../verify/sums.js';
import { unpackIntoRoot } from '../unpack-root.js';

interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
}

/**
 * An OCI/Docker image from a registry (v2 API), flattened into the root:
 * the platform is the definition's image.architecture (not the host's), each
 * layer is checked against its digest and applied in order with whiteouts.
 *
 * Trust: the manifest is pinned by an `@sha256:` reference or by
 * `source.checksum` (kiln extension, the manifest or index digest); an
 * unpinned tag is accepted only over https, or with skip_verification.
 */
export const dockerHttp: Downloader = {
  name: 'docker-http',
  async fetch(ctx: SourceContext): Promise<SourceRecord> {
    const src = ctx.step.source;
    if (!src.url)
      throw new SourceError(
        'source.url: docker-http needs an image reference such as registry.example.org/library/debian:bookworm',
      );
    const ref = parseReference(src.url);
    let pin = ref.digest;
    if (src.checksum) {
      const c = parseChecksum(src.checksum);
      if (!c || c.algorithm !== 'sha256')
        throw new SourceError(
          `source.checksum: "${src.checksum}" must be sha256:<64 hex digits> (the image's manifest or index digest) for docker-http`,
        );
      const fromChecksum = `sha256:${c.hex}`;
      if (pin && pin !== fromChecksum)
        throw new SourceError(`source.checksum ${fromChecksum} contradicts the digest in source.url ${pin}`);
      pin = fromChecksum;
    }
    if (!pin && ref.base.startsWith('http:') && !src.skip_verification) {
      throw new VerificationError(
        `${ref.text}: an unpinned tag over plain http cannot be verified; pin it (@sha256:... or source.checksum), use https, or set skip_verification: true`,
      );
    }
    const verifiedBy = pin ? 'digest' : ref.base.startsWith('https:') ? 'tls+digest' : 'none';
    if (verifiedBy === 'none')
      log(ctx.sink, 'warn', `${ref.text}: skip_verification is set; the manifest is NOT verified`);

    const client = new RegistryClient(ref, { sink: ctx.sink, signal: ctx.signal });
    const want = ociPlatform(ctx.definition.image.architecture);
    const top = await client.manifest(ref.digest ?? ref.tag!, pin);
    const inputs: FetchedInput[] = [{ url: top.url, sha256: top.digest.slice(7), size: top.body.length, verifiedBy }];
    const resolved: Record<string, string> = { reference: ref.text, digest: top.digest };

    let manifestDoc: Fetched = top;
    if (INDEX_TYPES.includes(top.mediaType)) {
      const index = JSON.parse(top.body.toString('utf8')) as { manifests?: Descriptor[] };
      const chosen = choosePlatform(index.manifests ?? [], want);
      if (!chosen) {
        const offered = (index.manifests ?? []).map((m) => platformText(m.platform)).join(', ');
        throw new SourceError(
          `${ref.text}: no image for linux/${platformText(want)} (image.architecture ${ctx.definition.image.architecture}); the index offers ${offered || 'nothing'}`,
        );
      }
      manifestDoc = await client.manifest(chosen.digest, chosen.digest);
      inputs.push({
        url: manifestDoc.url,
        sha256: manifestDoc.digest.slice(7),
        size: manifestDoc.body.length,
        verifiedBy: 'digest',
      });
      resolved.manifest_digest = manifestDoc.digest;
    } else if (!MANIFEST_TYPES.includes(top.mediaType)) {
      throw new SourceError(
        `${ref.text}: unsupported manifest type "${top.mediaType}" (kiln reads OCI and Docker v2 schema 2)`,
      );
    }

    const manifest = JSON.parse(manifestDoc.body.toString('utf8')) as ImageManifest;
    if (!manifest.config?.digest || !Array.isArray(manifest.layers))
      throw new SourceError(`${manifestDoc.url}: not an image manifest`);
    const config = JSON.parse((await client.smallBlob(manifest.config.digest)).toString('utf8')) as ImageConfig;
    if (config.architecture && config.architecture !== want.architecture) {
      throw new SourceError(
        `${ref.text}: the image is for ${config.os ?? 'linux'}/${config.architecture}, but image.architecture ${ctx.definition.image.architecture} needs ${want.architecture}`,
      );
    }
    resolved.platform = `${config.os ?? 'linux'}/${platformText({ architecture: config.architecture ?? want.architecture, ...(config.variant ? { variant: config.variant } : {}) })}`;

    for (const [i, layer] of manifest.layers.entries()) {
      if (/foreign|nondistributable/.test(layer.mediaType)) {
        throw new SourceError(
          `${ref.text}: layer ${layer.digest} is a non-distributable (foreign) layer, which kiln does not fetch`,
        );
      }
      const m = /^sha256:([0-9a-f]{64})$/.exec(layer.digest);
      if (!m) throw new SourceError(`${ref.text}: layer digest "${layer.digest}" is not sha256`);
      const file = await fetchCached(client.url(`blobs/${layer.digest}`), ctx.cacheDir, {
        headers: client.authHeaders(),
        expected: { algorithm: 'sha256', hex: m[1]! },
        sink: ctx.sink,
        signal: ctx.signal,
        task: `download layer ${i + 1}/${manifest.layers.length}`,
      });
      inputs.push({ url: file.url, sha256: file.sha256, size: file.size, verifiedBy: 'digest' });
      await unpackIntoRoot(ctx, file.path, `unpack layer ${i + 1}/${manifest.layers.length}`, { layer: true });
    }
    return { downloader: 'docker-http', resolved, inputs };
  },
};

function choosePlatform(
  manifests: Descriptor[],
  want: { architecture: string; variant?: string },
): Descriptor | undefined {
  const linux = manifests.filter((m) => m.platform?.os === 'linux' && m.platform.architecture === want.architecture);
  if (!want.variant) return linux.find((m) => !m.platform?.variant || m.platform.variant === 'v8') ?? linux[0];
  return linux.find((m) => m.platform?.variant === want.variant) ?? linux.find((m) => !m.platform?.variant);
}

function platformText(p: { architecture: string; variant?: string } | undefined): string {
  if (!p) return 'unknown';
  return p.variant ? `${p.architecture}/${p.variant}` : p.architecture;
}
