import type { BuildRecord } from '../pipeline/record.js';
import { findArtifact, rootXz, type ArtifactRole } from './artifacts.js';
import { serialHasDate } from './names.js';
import type { PublishedBuild } from './tree-scan.js';

export interface StreamItem {
  ftype: string;
  path: string;
  sha256: string;
  size: number;
  combined_sha256?: string;
  combined_rootxz_sha256?: string;
  combined_squashfs_sha256?: string;
  /** Of a `squashfs.vcdiff`: the version the delta starts from. */
  delta_base?: string;
  /** Fields kiln does not write itself but keeps from a mirrored upstream (`combined_disk-kvm-img_sha256`, ...). */
  [field: string]: string | number | undefined;
}

export interface StreamProduct {
  aliases: string;
  arch: string;
  os: string;
  release: string;
  release_title: string;
  variant: string;
  requirements: Record<string, string>;
  versions: Record<string, { items: Record<string, StreamItem> }>;
}

export interface StreamImages {
  content_id: string;
  datatype: string;
  format: string;
  updated: string;
  products: Record<string, StreamProduct>;
}

export interface StreamIndex {
  format: string;
  updated: string;
  index: Record<string, { datatype: string; path: string; format: string; updated: string; products: string[] }>;
}

/**
 * lxc-ci's aliases: `dist/release/variant` always, plus `dist/release` for the
 * default variant; whatever the definition asked for comes first.
 */
export function productAliases(r: BuildRecord): string[] {
  const p = r.product;
  // A mirrored product keeps upstream's aliases, no more.
  if (r.mirror) return [...new Set(r.aliases.filter((a) => /^[A-Za-z0-9][A-Za-z0-9_.+/-]*$/.test(a)))];
  const out = [...r.aliases];
  if (p.variant === 'default') out.push(`${p.distribution}/${p.release}`);
  out.push(`${p.distribution}/${p.release}/${p.variant}`);
  return [...new Set(out.filter((a) => /^[A-Za-z0-9][A-Za-z0-9_.+/-]*$/.test(a)))];
}

/**
 * Aliases per product key. An alias must name one image per architecture,
 * so when several products of one architecture claim it (e.g. `debian/12`
 * from both the default and the cloud variant), the default variant keeps
 * it, else the first product in key order.
 */
export function assignAliases(products: Map<string, PublishedBuild[]>): Map<string, string[]> {
  const wanted = new Map<string, string[]>();
  const owner = new Map<string, string>();
  for (const [key, builds] of products) {
    const r = builds[0]!.record;
    const aliases = productAliases(r);
    wanted.set(key, aliases);
    for (const a of aliases) {
      const slot = `${r.product.arch}\0${a}`;
      const current = owner.get(slot);
      if (current === undefined || (r.product.variant === 'default' && !current.endsWith(':default')))
        owner.set(slot, key);
    }
  }
  const out = new Map<string, string[]>();
  for (const [key, aliases] of wanted) {
    const arch = products.get(key)![0]!.record.product.arch;
    out.set(
      key,
      aliases.filter((a) => owner.get(`${arch}\0${a}`) === key),
    );
  }
  return out;
}

function item(b: PublishedBuild, role: ArtifactRole, ftype: string): StreamItem | undefined {
  const a = findArtifact(b.record, role);
  if (!a) return undefined;
  return { ftype, path: `${b.relDir}/${a.name}`, sha256: a.sha256, size: a.size };
}

/**
 * The items of one version. The metadata tarball is listed twice, under the
 * `incus.tar.xz` and `lxd.tar.xz` ftypes, because each client only knows
 * its own name; it carries the combined fingerprints clients check after
 * downloading.
 */
function versionItems(b: PublishedBuild, listed: Set<string>): Record<string, StreamItem> {
  if (b.record.mirror) return mirroredItems(b, listed);
  const items: Record<string, StreamItem> = {};
  const fp = b.record.fingerprints;
  const xz = rootXz(b.record);
  const root: StreamItem | undefined = xz && {
    ftype: 'root.tar.xz',
    path: `${b.relDir}/${xz.name}`,
    sha256: xz.sha256,
    size: xz.size,
  };
  const squash = item(b, 'squashfs', 'squashfs');
  const meta = item(b, 'incus.meta', 'incus.tar.xz');
  if (meta && (root || squash)) {
    const combined: Partial<StreamItem> = {};
    if (root && fp.combined_rootxz_sha256) combined.combined_rootxz_sha256 = fp.combined_rootxz_sha256;
    const combinedSha = fp.combined_sha256 ?? fp.combined_rootxz_sha256;
    if (root && combinedSha) combined.combined_sha256 = combinedSha;
    if (squash && fp.combined_squashfs_sha256) combined.combined_squashfs_sha256 = fp.combined_squashfs_sha256;
    items['incus.tar.xz'] = { ...meta, ...combined };
    items['lxd.tar.xz'] = { ...meta, ...combined, ftype: 'lxd.tar.xz' };
    if (root) items['root.tar.xz'] = root;
    if (squash) items['root.squashfs'] = squash;
    // Clients use a delta only from a version they can find in this stream.
    for (const d of squash ? (b.deltas ?? []) : []) {
      if (!listed.has(d.base)) continue;
      items[`root.${d.base}.vcdiff`] = {
        ftype: 'squashfs.vcdiff',
        path: `${b.relDir}/${d.name}`,
        sha256: d.sha256,
        size: d.size,
        delta_base: d.base,
      };
    }
  }
  const unified = item(b, 'unified', 'incus_combined.tar.gz');
  if (unified) {
    items['incus_combined.tar.gz'] = unified;
    items['lxd_combined.tar.gz'] = { ...unified, ftype: 'lxd_combined.tar.gz' };
  }
  return items;
}

/**
 * A mirrored version lists upstream's items as they were (fingerprints,
 * VM disks, deltas), with paths into this tree; a delta only when its base
 * is in this stream too.
 */
function mirroredItems(b: PublishedBuild, listed: Set<string>): Record<string, StreamItem> {
  const items: Record<string, StreamItem> = {};
  for (const [key, it] of Object.entries(b.record.mirror!.items)) {
    const base = it.extra.delta_base;
    if (base !== undefined && !listed.has(base)) continue;
    items[key] = { ...it.extra, ftype: it.ftype, path: `${b.relDir}/${it.name}`, sha256: it.sha256, size: it.size };
  }
  return items;
}

export function renderStreams(
  products: Map<string, PublishedBuild[]>,
  now: Date,
): { index: StreamIndex; images: StreamImages } {
  const updated = now.toUTCString();
  const out: Record<string, StreamProduct> = {};
  const aliases = assignAliases(products);
  for (const [key, builds] of products) {
    const versions: StreamProduct['versions'] = {};
    const listed = new Set(builds.map((b) => b.record.serial).filter(serialHasDate));
    for (const b of builds) {
      if (!serialHasDate(b.record.serial)) continue;
      const items = versionItems(b, listed);
      if (Object.keys(items).length > 0) versions[b.record.serial] = { items };
    }
    if (Object.keys(versions).length === 0) continue;
    const r = builds[0]!.record;
    out[key] = {
      aliases: (aliases.get(key) ?? []).join(','),
      arch: r.product.arch,
      os: r.os || r.product.distribution,
      release: r.product.release,
      release_title: r.releaseTitle || r.product.release,
      variant: r.product.variant,
      requirements: { ...(r.requirements ?? {}) },
      versions,
    };
  }
  const images: StreamImages = {
    content_id: 'images',
    datatype: 'image-downloads',
    format: 'products:1.0',
    updated,
    products: out,
  };
  const index: StreamIndex = {
    format: 'index:1.0',
    updated,
    index: {
      images: {
        datatype: 'image-downloads',
        path: 'streams/v1/images.json',
        format: 'products:1.0',
        updated,
        products: Object.keys(out),
      },
    },
  };
  return { index, images };
}
