import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../util/errors.js';
import { parseBuildRecord } from './tree-scan.js';

/**
 * What changed between two published builds of a product: installed
 * packages (from each build's SBOM, which the pack stage reads from the
 * image's package database) and upstream inputs (from build.json).
 */
export interface BuildDiff {
  from: string;
  to: string;
  added: { name: string; version: string }[];
  removed: { name: string; version: string }[];
  changed: { name: string; from: string; to: string }[];
  inputs: { url: string; from?: string; to?: string }[];
}

interface SpdxPackage {
  SPDXID?: unknown;
  name?: unknown;
  versionInfo?: unknown;
  comment?: unknown;
}

/** name (plus `:arch` when the database names one) -> version. */
async function packagesOf(dir: string): Promise<Map<string, string>> {
  const file = join(dir, 'sbom.spdx.json');
  let doc: { packages?: SpdxPackage[] };
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as { packages?: SpdxPackage[] };
  } catch (e) {
    throw new KilnError(`${file}: cannot read the build's SBOM (${(e as Error).message})`);
  }
  const out = new Map<string, string>();
  for (const p of doc.packages ?? []) {
    if (p.SPDXID === 'SPDXRef-Image' || typeof p.name !== 'string' || typeof p.versionInfo !== 'string') continue;
    const arch = typeof p.comment === 'string' ? /^architecture: (\S+)$/.exec(p.comment)?.[1] : undefined;
    out.set(arch ? `${p.name}:${arch}` : p.name, p.versionInfo);
  }
  return out;
}

async function recordOf(dir: string) {
  const file = join(dir, 'build.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new KilnError(`${dir}: no build.json; give two published build directories`);
  });
  return parseBuildRecord(text, file);
}

export async function diffBuilds(fromDir: string, toDir: string): Promise<BuildDiff> {
  const [a, b] = await Promise.all([recordOf(fromDir), recordOf(toDir)]);
  const pa = await packagesOf(fromDir);
  const pb = await packagesOf(toDir);
  const diff: BuildDiff = { from: a.serial, to: b.serial, added: [], removed: [], changed: [], inputs: [] };
  for (const [name, version] of pb) {
    const before = pa.get(name);
    if (before === undefined) diff.added.push({ name, version });
    else if (before !== version) diff.changed.push({ name, from: before, to: version });
  }
  for (const [name, version] of pa) if (!pb.has(name)) diff.removed.push({ name, version });
  const inputs = (r: typeof a) => new Map(r.sources.flatMap((s) => s.inputs).map((i) => [i.url, i.sha256]));
  const ia = inputs(a);
  const ib = inputs(b);
  for (const url of [...new Set([...ia.keys(), ...ib.keys()])].sort()) {
    const from = ia.get(url);
    const to = ib.get(url);
    if (from !== to) diff.inputs.push({ url, ...(from && { from }), ...(to && { to }) });
  }
  for (const list of [diff.added, diff.removed, diff.changed]) list.sort((x, y) => (x.name < y.name ? -1 : 1));
  return diff;
}

/** The diff as a person reads it: one line a change, `+`, `-`, `~`. */
export function formatDiff(d: BuildDiff): string {
  const lines = [`${d.from} -> ${d.to}`];
  for (const p of d.added) lines.push(`+ ${p.name} ${p.version}`);
  for (const p of d.removed) lines.push(`- ${p.name} ${p.version}`);
  for (const p of d.changed) lines.push(`~ ${p.name} ${p.from} -> ${p.to}`);
  for (const i of d.inputs)
    lines.push(`~ input ${i.url} ${i.from ? i.from.slice(0, 12) : '(new)'} -> ${i.to ? i.to.slice(0, 12) : '(gone)'}`);
  if (lines.length === 1) lines.push('no package or input changed');
  return `${lines.join('\n')}\n`;
}
