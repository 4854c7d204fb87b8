import { KilnError } from '../util/errors.js';
import type { BuildRecord, ProductId } from '../pipeline/record.js';

/**
 * A product name part becomes a directory name, a field of the `;`-separated
 * LXC index and part of the `:`-separated simplestreams product key, so it is
 * limited to characters that are safe in all three.
 */
const PART = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
/** lxc-ci serials look like `20240605_07:42`; `:` is fine in a path segment. */
const SERIAL = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$/;

export function checkProduct(p: ProductId, where: string): void {
  for (const [field, value] of Object.entries({
    distribution: p.distribution,
    release: p.release,
    arch: p.arch,
    variant: p.variant,
  })) {
    if (typeof value !== 'string' || !PART.test(value)) {
      throw new KilnError(
        `${where}: product ${field} '${String(value)}' is not allowed; use letters, digits and '_.+-', starting with a letter or digit`,
      );
    }
  }
}

export function checkSerial(serial: string, where: string): void {
  if (typeof serial !== 'string' || !SERIAL.test(serial)) {
    throw new KilnError(
      `${where}: serial '${String(serial)}' is not allowed; use letters, digits and '_.:+-' (default format YYYYMMDD_HH:MM)`,
    );
  }
}

/** Simplestreams clients skip a version whose first 8 characters are not a date. */
export function serialHasDate(serial: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(serial);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/** The default serial (`YYYYMMDD_HH:MM` UTC, as lxc-ci writes it) is the definition loader's. */
export { defaultSerial } from '../definition/load.js';

export function productKey(p: ProductId): string {
  return `${p.distribution}:${p.release}:${p.arch}:${p.variant}`;
}

/** `images/d/r/a/v` relative to the tree root. */
export function productRelDir(p: ProductId): string {
  return `images/${p.distribution}/${p.release}/${p.arch}/${p.variant}`;
}

/** `images/d/r/a/v/serial` relative to the tree root. */
export function buildRelDir(r: Pick<BuildRecord, 'product' | 'serial'>): string {
  return `${productRelDir(r.product)}/${r.serial}`;
}

/** Serials compare as strings: `YYYYMMDD_HH:MM` is fixed-width. */
export function compareSerials(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The `os` clients show for a product: lxc-ci title-cases the distribution
 * name as Python's str.title() does (debian -> Debian, archlinux ->
 * Archlinux, openwrt -> Openwrt).
 */
export function streamOsName(distribution: string): string {
  return distribution
    .toLowerCase()
    .replace(/(^|[^a-z])([a-z])/g, (_, before: string, letter: string) => before + letter.toUpperCase());
}
