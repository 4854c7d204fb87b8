import { buildFormats } from './artifacts.js';
import { assignAliases } from './simplestreams.js';
import type { PublishedBuild } from './tree-scan.js';

/** What the web catalog shows for one product (written to `.kiln/catalog.json`). */
export interface CatalogProduct {
  distribution: string;
  release: string;
  arch: string;
  variant: string;
  os: string;
  releaseTitle: string;
  description: string;
  aliases: string[];
  userConfig: boolean;
  builds: number;
  latest: {
    serial: string;
    creationDate: number;
    /** `images/d/r/a/v/serial` */
    path: string;
    formats: string[];
    artifacts: { name: string; size: number; sha256: string; role: string }[];
    fingerprints: Record<string, string>;
  };
}

export interface CatalogData {
  generated: string;
  products: CatalogProduct[];
}

export function renderCatalogData(products: Map<string, PublishedBuild[]>, now: Date): CatalogData {
  const out: CatalogProduct[] = [];
  const aliases = assignAliases(products);
  for (const [key, builds] of products) {
    const b = builds[0];
    if (!b) continue;
    const r = b.record;
    const f = buildFormats(r);
    const formats = [
      f.lxc && 'lxc',
      f.squashfs && 'squashfs',
      f.rootxz && 'root.tar.xz',
      f.unified && 'unified',
    ].filter((x): x is string => typeof x === 'string');
    const fingerprints: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.fingerprints)) if (typeof v === 'string') fingerprints[k] = v;
    out.push({
      distribution: r.product.distribution,
      release: r.product.release,
      arch: r.product.arch,
      variant: r.product.variant,
      os: r.os || r.product.distribution,
      releaseTitle: r.releaseTitle || r.product.release,
      description: r.description ?? '',
      aliases: f.incus || f.unified ? (aliases.get(key) ?? []) : [],
      userConfig: Boolean(r.userConfig),
      builds: builds.length,
      latest: {
        serial: r.serial,
        creationDate: r.creationDate,
        path: b.relDir,
        formats,
        artifacts: r.artifacts.map((a) => ({ name: a.name, size: a.size, sha256: a.sha256, role: a.role })),
        fingerprints,
      },
    });
  }
  return { generated: now.toISOString(), products: out };
}
