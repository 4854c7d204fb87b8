import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SourceContext } from './types.js';
import { SourceError, VerificationError } from './errors.js';
import { ociPlatform } from './docker/platform.js';
import { INDEX_TYPES, type Descriptor } from './docker/registry-client.js';
import { hashFile } from './hash.js';
import { unpackArchive } from './unpack/index.js';
import { unpackIntoRoot } from './unpack-root.js';

interface Index {
  manifests?: Descriptor[];
}

interface Manifest {
  config?: Descriptor;
  layers?: Descriptor[];
}

/**
 * Applies an OCI image layout archive (`oci-layout`, `index.json`,
 * `blobs/sha256/...`, as `skopeo copy oci-archive:` writes it) to the root:
 * index -> the manifest for image.architecture -> layers in order, every
 * blob checked against its descriptor's digest and size, whiteouts applied.
 */
export async function applyOciArchive(
  ctx: SourceContext,
  archive: string,
  what: string,
): Promise<{ manifestDigest: string; layers: number }> {
  const tmp = await mkdtemp(path.join(ctx.workDir, 'oci-'));
  try {
    await unpackArchive(archive, tmp, {
      sink: ctx.sink,
      signal: ctx.signal,
      limits: ctx.limits,
      task: 'unpack OCI archive',
    });
    const layout = await readJson<{ imageLayoutVersion?: string }>(path.join(tmp, 'oci-layout'), `${what}: oci-layout`);
    if (!layout.imageLayoutVersion)
      throw new SourceError(`${what}: oci-layout has no imageLayoutVersion; not an OCI image layout`);
    let index = await readJson<Index>(path.join(tmp, 'index.json'), `${what}: index.json`);
    const want = ociPlatform(ctx.definition.image.architecture);
    let chosen: Descriptor | undefined;
    for (let depth = 0; depth < 4 && !chosen; depth++) {
      const list = index.manifests ?? [];
      const pick =
        list.length === 1
          ? list[0]
          : list.find(
              (m) =>
                m.platform?.architecture === want.architecture &&
                (!want.variant || m.platform.variant === want.variant),
            );
      if (!pick) {
        const offered = list.map((m) => m.platform?.architecture ?? 'unlabelled').join(', ');
        throw new SourceError(
          `${what}: index.json has no manifest for ${want.architecture} (offers ${offered || 'nothing'})`,
        );
      }
      if (INDEX_TYPES.includes(pick.mediaType))
        index = JSON.parse((await blob(tmp, pick, what)).toString('utf8')) as Index;
      else chosen = pick;
    }
    if (!chosen) throw new SourceError(`${what}: index.json nests indexes too deep`);
    const manifest = JSON.parse((await blob(tmp, chosen, what)).toString('utf8')) as Manifest;
    if (!manifest.config || !Array.isArray(manifest.layers))
      throw new SourceError(`${what}: manifest ${chosen.digest} is not an image manifest`);
    const config = JSON.parse((await blob(tmp, manifest.config, what)).toString('utf8')) as { architecture?: string };
    if (config.architecture && config.architecture !== want.architecture) {
      throw new SourceError(
        `${what}: the image is for ${config.architecture}, but image.architecture ${ctx.definition.image.architecture} needs ${want.architecture}`,
      );
    }
    for (const [i, layer] of manifest.layers.entries()) {
      const file = await blobFile(tmp, layer, what);
      await unpackIntoRoot(ctx, file, `unpack layer ${i + 1}/${manifest.layers.length}`, { layer: true });
    }
    return { manifestDigest: chosen.digest, layers: manifest.layers.length };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readJson<T>(file: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new SourceError(`${what}: missing; not an OCI image layout`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SourceError(`${what}: not valid JSON`);
  }
}

/** The checked path of a blob: sha256 only, size and digest must match the descriptor. */
async function blobFile(dir: string, d: Descriptor, what: string): Promise<string> {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest ?? '');
  if (!m) throw new SourceError(`${what}: descriptor digest "${d.digest}" is not sha256`);
  const file = path.join(dir, 'blobs', 'sha256', m[1]!);
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new SourceError(`${what}: blob ${d.digest} is missing from the archive`);
  if (typeof d.size === 'number' && st.size !== d.size)
    throw new VerificationError(`${what}: blob ${d.digest} is ${st.size} bytes, its descriptor says ${d.size}`);
  const got = await hashFile(file);
  if (got !== m[1])
    throw new VerificationError(`${what}: blob ${d.digest} does not match its digest (got sha256:${got})`);
  return file;
}

async function blob(dir: string, d: Descriptor, what: string): Promise<Buffer> {
  return readFile(await blobFile(dir, d, what));
}
