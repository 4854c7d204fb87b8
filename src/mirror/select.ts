import type { MirroredItem } from '../pipeline/record.js';
import { compareSerials } from '../publish/names.js';
import type { UpstreamVersion } from './upstream.js';

export type ImageType = 'container' | 'virtual-machine';

/**
 * `--only` patterns: `dist:release:arch:variant` with `*` globs; a shorter
 * pattern (`debian`, `debian:bookworm`) matches everything below it.
 */
export function matchesPattern(key: string, pattern: string): boolean {
  const parts = pattern.split(':');
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^:]*')}$`,
  );
  return re.test(key.split(':').slice(0, parts.length).join(':'));
}

const VM_FTYPES = new Set(['disk-kvm.img', 'disk-kvm.img.vcdiff', 'disk1.img', 'uefi1.img', 'qcow2']);
const META_FTYPES = new Set(['incus.tar.xz', 'lxd.tar.xz']);

function itemType(it: MirroredItem): ImageType | 'both' {
  if (META_FTYPES.has(it.ftype)) return 'both';
  if (VM_FTYPES.has(it.ftype) || it.extra.combined_type === 'virtual-machine') return 'virtual-machine';
  return 'container';
}

/**
 * What a mirror copies: products matching one of `only` (all when empty),
 * each version reduced to the items of `type`, the newest `keep` versions
 * of each product. A version left with nothing but metadata is dropped.
 */
export function selectVersions(
  all: UpstreamVersion[],
  opts: { only: string[]; type?: ImageType | undefined; keep: number },
): UpstreamVersion[] {
  const byKey = new Map<string, UpstreamVersion[]>();
  for (const v of all) {
    if (opts.only.length > 0 && !opts.only.some((p) => matchesPattern(v.key, p))) continue;
    const items: Record<string, MirroredItem> = {};
    for (const [k, it] of Object.entries(v.items)) {
      const t = itemType(it);
      if (!opts.type || t === 'both' || t === opts.type) items[k] = it;
    }
    const lxc = v.lxc && opts.type !== 'virtual-machine';
    if (!lxc && !Object.values(items).some((it) => !META_FTYPES.has(it.ftype))) continue;
    const list = byKey.get(v.key) ?? [];
    list.push({ ...v, items, lxc });
    byKey.set(v.key, list);
  }
  const out: UpstreamVersion[] = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => compareSerials(b.serial, a.serial));
    out.push(...list.slice(0, opts.keep));
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : compareSerials(a.serial, b.serial)));
}
