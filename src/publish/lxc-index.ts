import { hasLxcPair } from './artifacts.js';
import type { PublishedBuild } from './tree-scan.js';

/**
 * The LXC download template's index: `dist;release;arch;variant;serial;path`,
 * one line per product (the newest build that LXC can use), every line ending
 * in `\n` because the client's `read` drops an unterminated last line.
 */
export function renderLxcIndexes(products: Map<string, PublishedBuild[]>): { system: string; user: string } {
  let system = '';
  let user = '';
  for (const builds of products.values()) {
    const b = builds.find((x) => hasLxcPair(x.record));
    if (!b) continue;
    const p = b.record.product;
    const line = `${p.distribution};${p.release};${p.arch};${p.variant};${b.record.serial};/${b.relDir}/\n`;
    system += line;
    if (b.record.userConfig) user += line;
  }
  return { system, user };
}
