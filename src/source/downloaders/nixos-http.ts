import type { ProbeContext } from '../types.js';
import { SourceError } from '../errors.js';
import { distroArchitecture, KERNEL_NAMES } from '../distro-arch.js';
import { fetchSmall } from '../download/http.js';
import { LayoutError } from '../listing.js';
import { unpackIntoRoot } from '../unpack-root.js';
import { artifactDownloader, type Located } from '../upstream.js';
import type { SumEntry } from '../verify/sums.js';

const NIX_ARCHES = ['x86_64', 'aarch64'];
const DEFAULT_HYDRA = 'https://hydra.nixos.org';
const SUBTYPE = 'squashfs-image';

interface BuildProduct {
  name?: string;
  subtype?: string;
  type?: string;
  sha256hash?: string;
}

interface HydraBuild {
  id?: number;
  nixname?: string;
  buildproducts?: Record<string, BuildProduct>;
}

function productOf(build: HydraBuild): [string, BuildProduct] | undefined {
  return Object.entries(build.buildproducts ?? {}).find(
    ([, p]) => p.subtype === SUBTYPE || p.name?.endsWith('.squashfs'),
  );
}

/** Hydra's build JSON as a one-entry sums file: the squashfs product's sha256. */
function parseBuild(text: string): Map<string, SumEntry> {
  const out = new Map<string, SumEntry>();
  const product = productOf(JSON.parse(text) as HydraBuild)?.[1];
  if (product?.name && product.sha256hash && /^[0-9a-f]{64}$/.test(product.sha256hash))
    out.set(product.name, { algorithm: 'sha256', hex: product.sha256hash });
  return out;
}

async function locate(ctx: ProbeContext): Promise<Located> {
  const hydra = (ctx.step.source.url || DEFAULT_HYDRA).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(hydra))
    throw new SourceError(`source.url: "${hydra}" is not an http(s) URL of a Hydra instance`);
  const arch = distroArchitecture(ctx.definition, 'NixOS', NIX_ARCHES, KERNEL_NAMES);
  const release = ctx.definition.image.release;
  if (!/^(\d{2}\.\d{2}|unstable)$/.test(release))
    throw new SourceError(`image.release "${release}": NixOS releases are YY.MM (e.g. 24.11) or unstable`);
  const jobset = release === 'unstable' ? 'trunk-combined' : `release-${release}`;
  const latest = `${hydra}/job/nixos/${jobset}/nixos.incusContainerImage.${arch}-linux/latest`;
  const got = await fetchSmall(latest, {
    sink: ctx.sink,
    signal: ctx.signal,
    accept: 'application/json',
    maxBytes: 4 << 20,
  });
  if (!got) throw new LayoutError(`${latest}: not found (HTTP 404); Hydra has no finished build of this job`);
  let build: HydraBuild;
  try {
    build = JSON.parse(got.body.toString('utf8')) as HydraBuild;
  } catch {
    throw new LayoutError(`${latest}: Hydra did not answer with build JSON; the API may have changed`);
  }
  const product = productOf(build);
  if (typeof build.id !== 'number' || !product || !product[1].name) {
    throw new LayoutError(
      `${latest}: build ${build.id ?? '?'} has no ${SUBTYPE} product (products: ${
        Object.values(build.buildproducts ?? {})
          .map((p) => p.name)
          .join(', ') || 'none'
      })`,
    );
  }
  const buildUrl = `${hydra}/build/${build.id}`;
  return {
    artifact: {
      url: `${buildUrl}/download/${product[0]}/${product[1].name}`,
      sums: {
        url: buildUrl,
        signature: { kind: 'unsigned' },
        name: product[1].name,
        parse: parseBuild,
        accept: 'application/json',
      },
    },
    resolved: {
      release,
      jobset,
      build: String(build.id),
      ...(build.nixname ? { nixname: build.nixname } : {}),
      architecture: arch,
    },
    immutable: true,
  };
}

/**
 * NixOS: the squashfs product of Hydra's latest `nixos.incusContainerImage.<arch>-linux`
 * build for `release-<YY.MM>` (or trunk-combined for unstable), `url` being
 * the Hydra instance. Hydra signs nothing: source.checksum pins it; with
 * skip_verification the build's sha256 from Hydra is still checked.
 */
export const nixosHttp = artifactDownloader({
  name: 'nixos-http',
  locate,
  async install(ctx, verified) {
    await unpackIntoRoot(ctx, verified.file.path, 'unpack NixOS squashfs');
  },
});
