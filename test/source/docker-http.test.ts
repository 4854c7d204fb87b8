import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fetchSource, SourceError, VerificationError } from '../../src/source/index.js';
import type { SourceSection } from '../../src/definition/types.js';
import { startRegistry, type Registry } from '../fixtures/docker-registry.js';
import { makeContext, type TestContext } from './context.js';
import { rawTar } from './archives.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let reg: Registry;
const contexts: TestContext[] = [];
const digests: Record<string, string> = {};

interface Built {
  manifest: Buffer;
  mediaType: string;
}

/** Pushes a two-layer image: a base, then a layer that deletes and replaces things. */
async function pushImage(repo: string, arch: string, mediaType: string): Promise<Built> {
  const base = gzipSync(
    await rawTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', content: 'ID=kiln-test\n' },
      { name: 'etc/removed', content: 'goes away\n' },
      { name: 'usr/bin/su', content: 'setuid\n', mode: 0o4755 },
      { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
      { name: 'opaque/', type: 'directory' },
      { name: 'opaque/old', content: 'hidden by the opaque marker\n' },
      { name: 'gone/sub/file', content: 'whole dir removed\n' },
    ]),
  );
  // zstd for the second layer: layers are detected by content, not media type.
  const top = execFileSync('zstd', ['-q', '-c'], {
    input: await rawTar([
      { name: 'etc/.wh.removed', content: '' },
      { name: 'opaque/new', content: 'from the top layer\n' },
      { name: 'opaque/.wh..wh..opq', content: '' },
      { name: '.wh.gone', content: '' },
      { name: 'arch', content: `${arch}\n` },
    ]),
  });
  const config = Buffer.from(
    JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const oci = mediaType === OCI_MANIFEST;
  const layers = [
    {
      mediaType: oci
        ? 'application/vnd.oci.image.layer.v1.tar+gzip'
        : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      digest: await reg.pushBlob(repo, base),
      size: base.length,
    },
    {
      mediaType: oci
        ? 'application/vnd.oci.image.layer.v1.tar+zstd'
        : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      digest: await reg.pushBlob(repo, top),
      size: top.length,
    },
  ];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
        digest: await reg.pushBlob(repo, config),
        size: config.length,
      },
      layers,
    }),
  );
  return { manifest, mediaType };
}

beforeAll(async () => {
  reg = await startRegistry({ tokenAuth: true });
  const single = await pushImage('kiln/single', 'amd64', DOCKER_MANIFEST);
  digests.single = await reg.pushManifest('kiln/single', 'v1', single.mediaType, single.manifest);

  const entries = [];
  for (const [arch, variant] of [
    ['amd64', undefined],
    ['arm64', 'v8'],
    ['arm', 'v7'],
  ] as const) {
    const img = await pushImage('kiln/multi', arch, OCI_MANIFEST);
    const digest = await reg.pushManifest('kiln/multi', sha(img.manifest), img.mediaType, img.manifest);
    entries.push({
      mediaType: img.mediaType,
      digest,
      size: img.manifest.length,
      platform: { architecture: arch, os: 'linux', ...(variant ? { variant } : {}) },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
  digests.multi = await reg.pushManifest('kiln/multi', 'latest', OCI_INDEX, index);
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.cleanup();
});

async function pull(source: Omit<SourceSection, 'downloader'>, architecture = 'x86_64'): Promise<TestContext> {
  const ctx = await makeContext({ downloader: 'docker-http', ...source }, { architecture });
  contexts.push(ctx);
  return ctx;
}

describe('docker-http against a local docker-registry with token auth', () => {
  it('pulls a single-arch image pinned by source.checksum and applies the layers with whiteouts', async () => {
    const ctx = await pull({ url: `http://${reg.host}/kiln/single:v1`, checksum: digests.single! });
    const record = await fetchSource(ctx);
    const root = ctx.rootfs;
    expect(await readFile(path.join(root, 'etc/os-release'), 'utf8')).toBe('ID=kiln-test\n');
    expect(await readFile(path.join(root, 'arch'), 'utf8')).toBe('amd64\n');
    expect(await readdir(path.join(root, 'etc'))).toEqual(['os-release']);
    expect(await readdir(path.join(root, 'opaque'))).toEqual(['new']);
    expect((await readdir(root)).sort()).toEqual(['arch', 'bin', 'etc', 'opaque', 'usr']);
    expect((await lstat(path.join(root, 'usr/bin/su'))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(path.join(root, 'bin'))).toBe('usr/bin');

    expect(record.downloader).toBe('docker-http');
    expect(record.resolved).toMatchObject({ digest: digests.single, platform: 'linux/amd64' });
    expect(record.inputs[0]).toMatchObject({ sha256: digests.single!.slice(7), verifiedBy: 'digest' });
    expect(record.inputs.slice(1).map((i) => i.verifiedBy)).toEqual(['digest', 'digest']);
    // The registry demanded a token and the token server issued one.
    expect(reg.tokens!.requestsFor('/token').length).toBeGreaterThan(0);
    expect(reg.tokens!.requestsFor('/token')[0]!.status).toBe(200);
  });

  it("chooses image.architecture's entry from a multi-arch index, not the host's", async () => {
    const ctx = await pull({ url: `http://${reg.host}/kiln/multi@${digests.multi}` }, 'aarch64');
    const record = await fetchSource(ctx);
    expect(await readFile(path.join(ctx.rootfs, 'arch'), 'utf8')).toBe('arm64\n');
    expect(record.resolved).toMatchObject({ digest: digests.multi, platform: 'linux/arm64' });
    expect(record.inputs).toHaveLength(4);
  });

  it('picks the arm/v7 variant for armhf and amd64 for x86_64', async () => {
    const arm = await pull({ url: `http://${reg.host}/kiln/multi@${digests.multi}` }, 'armv7l');
    expect((await fetchSource(arm)).resolved).toMatchObject({ platform: 'linux/arm' });
    expect(await readFile(path.join(arm.rootfs, 'arch'), 'utf8')).toBe('arm\n');
    const x86 = await pull({ url: `http://${reg.host}/kiln/multi:latest`, checksum: digests.multi! });
    await fetchSource(x86);
    expect(await readFile(path.join(x86.rootfs, 'arch'), 'utf8')).toBe('amd64\n');
  });

  it('names the offered platforms when the index lacks the wanted one', async () => {
    const ctx = await pull({ url: `http://${reg.host}/kiln/multi@${digests.multi}` }, 'riscv64');
    await expect(fetchSource(ctx)).rejects.toThrow(
      new SourceError(
        `http://${reg.host}/kiln/multi@${digests.multi}: no image for linux/riscv64 (image.architecture riscv64); the index offers amd64, arm64/v8, arm/v7`,
      ),
    );
  });

  it('refuses a single-arch image for another architecture', async () => {
    const ctx = await pull({ url: `http://${reg.host}/kiln/single:v1`, checksum: digests.single! }, 'aarch64');
    await expect(fetchSource(ctx)).rejects.toThrow(
      /the image is for linux\/amd64, but image\.architecture aarch64 needs arm64/,
    );
    expect(await readdir(ctx.rootfs)).toEqual([]);
  });

  it('fails closed when the manifest does not match the pinned digest', async () => {
    const wrong = `sha256:${'ab'.repeat(32)}`;
    const ctx = await pull({ url: `http://${reg.host}/kiln/single:v1`, checksum: wrong });
    const err = await fetchSource(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/manifest digest mismatch: expected sha256:abab.*, got sha256:[0-9a-f]{64}/);
  });

  it('refuses an unpinned tag over plain http unless skip_verification is set', async () => {
    const ctx = await pull({ url: `http://${reg.host}/kiln/single:v1` });
    await expect(fetchSource(ctx)).rejects.toThrow(VerificationError);
    await expect(fetchSource(ctx)).rejects.toThrow(/unpinned tag over plain http cannot be verified/);
    const skipped = await pull({ url: `http://${reg.host}/kiln/single:v1`, skip_verification: true });
    const record = await fetchSource(skipped);
    expect(record.inputs[0]!.verifiedBy).toBe('none');
  });

  it('requires the registry host in the reference', async () => {
    const ctx = await pull({ url: 'library/debian:bookworm', skip_verification: true });
    await expect(fetchSource(ctx)).rejects.toThrow(/must start with the registry host/);
  });

  it('reports a missing tag clearly', async () => {
    const ctx = await pull({ url: `http://${reg.host}/kiln/single:nope`, skip_verification: true });
    await expect(fetchSource(ctx)).rejects.toThrow(/kiln\/single:nope: .*manifest not found \(HTTP 404\)/);
  });
});
