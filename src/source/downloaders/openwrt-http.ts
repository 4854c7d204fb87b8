import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { lookupArchitecture } from '../../definition/architectures.js';
import { log } from '../../util/events.js';
import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { dumpExtPartition, gunzipFile, isExtFilesystem, readPartitions } from '../disk-image.js';
import { fetchListing, pickNewest } from '../listing.js';
import { artifactDownloader, type Located } from '../upstream.js';
import { baseUrl, escapeRegExp } from '../url.js';

/** target-subtarget for kernel names, when the definition has no openwrt map. */
const BY_KERNEL: Record<string, string> = { x86_64: 'x86-64', aarch64: 'armsr-armv8', armv7l: 'armsr-armv7' };

function targetOf(ctx: ProbeContext): [string, string] {
  const mapped = ctx.definition.image.architecture_mapped;
  const known = /^[a-z0-9]+-[a-z0-9_]+$/.test(mapped) && !lookupArchitecture(mapped) ? mapped : undefined;
  const kernel = lookupArchitecture(mapped)?.kernel ?? lookupArchitecture(ctx.definition.image.architecture)?.kernel;
  const name = known ?? (kernel ? BY_KERNEL[kernel] : undefined);
  if (!name)
    throw new SourceError(
      `image.architecture ${ctx.definition.image.architecture} (mapped: ${mapped}): OpenWrt needs a target-subtarget such as x86-64 or armsr-armv8 (architecture_map: openwrt)`,
    );
  const i = name.indexOf('-');
  return [name.slice(0, i), name.slice(i + 1)];
}

async function locate(ctx: ProbeContext): Promise<Located> {
  const url = baseUrl(
    ctx.step.source.url,
    'openwrt-http',
    'the OpenWrt downloads root (https://<mirror>/ with releases/ and snapshots/)',
  );
  const [target, sub] = targetOf(ctx);
  let release = ctx.definition.image.release;
  let dir: string;
  let name: string;
  if (release === 'snapshot') {
    dir = `${url}/snapshots/targets/${target}/${sub}/`;
    name = `openwrt-${target}-${sub}-generic-ext4-combined-efi.img.gz`;
  } else {
    if (/^\d+\.\d+$/.test(release)) {
      const top = await fetchListing(`${url}/releases/`, ctx);
      release = pickNewest(
        `${url}/releases/`,
        top,
        new RegExp(`^(${escapeRegExp(release)}\\.\\d+)$`),
        `service release of ${release} (${release}.N/)`,
        { directory: true },
      ).version;
    } else if (!/^\d+\.\d+\.\d+(-rc\d+)?$/.test(release)) {
      throw new SourceError(
        `image.release "${release}": OpenWrt releases are X.Y (newest service release), X.Y.Z or snapshot`,
      );
    }
    dir = `${url}/releases/${release}/targets/${target}/${sub}/`;
    name = `openwrt-${release}-${target}-${sub}-generic-ext4-combined-efi.img.gz`;
  }
  const image = `${dir}${name}`;
  return {
    artifact: {
      url: image,
      sums: { url: `${dir}sha256sums`, signature: { kind: 'detached', url: `${dir}sha256sums.asc` } },
    },
    resolved: { release, target: `${target}/${sub}` },
    ...(release === 'snapshot' ? {} : { immutable: true }),
  };
}

/**
 * OpenWrt: the ext4 combined EFI disk image of `<url>/releases/<X.Y.Z>/targets/<target>/<sub>/`
 * (X.Y resolved to the newest service release) or of `snapshots/`, proven by
 * sha256sums + sha256sums.asc; the root partition (2) is copied out with
 * debugfs, without mounting anything.
 */
export const openwrtHttp = artifactDownloader({
  name: 'openwrt-http',
  locate,
  async install(ctx, verified, located) {
    const what = located.artifact.url;
    const tmp = await mkdtemp(path.join(ctx.workDir, 'openwrt-'));
    try {
      const image = path.join(tmp, 'disk.img');
      await gunzipFile(verified.file.path, image, ctx.signal);
      const parts = await readPartitions(image, what);
      const root = parts.find((p) => p.number === 2);
      if (!root || !(await isExtFilesystem(image, root))) {
        throw new SourceError(
          `${what}: partition 2 is not an ext4 root file system (partitions: ${parts.map((p) => `${p.number}@${p.start}`).join(', ') || 'none'})`,
        );
      }
      await dumpExtPartition(image, root, ctx.rootfs, what, ctx.signal);
      log(
        ctx.sink,
        'info',
        `openwrt-http: root from partition 2 of ${path.basename(what)}; the boot partition is not copied (a container does not boot from it)`,
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
});
