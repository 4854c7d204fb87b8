import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../publish/atomic-write.js';
import type { ProductId } from '../pipeline/record.js';
import { humanSize } from '../util/size.js';
import { escapeHtml } from '../serve/html.js';

export interface BuildReport {
  id: string;
  status: 'published' | 'bundled' | 'unchanged' | 'failed' | 'quarantined';
  reason?: string;
  /** Why it was built: what changed since the published build. */
  changes?: string[];
  serial?: string | undefined;
  inputDigest?: string;
  /** Milliseconds per stage (plan, source, customize, pack, test, publish). */
  durations: Record<string, number>;
  durationMs?: number;
  /** Artifact name -> bytes. */
  sizes: Record<string, number>;
  /** The build's log, relative to the report directory. */
  log: string;
  /** The published build, relative to the tree (the bundle file, absolute, with --bundle). */
  dir?: string;
  quarantine?: string;
  product?: ProductId;
  /** Builds of this product the catalog keeps. */
  keep?: number;
}

export interface CatalogReport {
  kiln: string;
  run: string;
  serial: string;
  catalog: string;
  started: string;
  durationMs: number;
  builds: BuildReport[];
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`;
}

export function renderReportHtml(r: CatalogReport): string {
  const counts = new Map<string, number>();
  for (const b of r.builds) counts.set(b.status, (counts.get(b.status) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'no builds';
  const rows = r.builds
    .map((b) => {
      const stages = Object.entries(b.durations)
        .map(([k, v]) => `${escapeHtml(k)} ${seconds(v)}`)
        .join('<br>');
      const sizes = Object.entries(b.sizes)
        .map(([k, v]) => `${escapeHtml(k)} ${humanSize(v)}`)
        .join('<br>');
      const image = b.dir
        ? `<a href="../../${escapeHtml(b.dir)}/">${escapeHtml(b.serial ?? '')}</a>`
        : escapeHtml(b.serial ?? '');
      return `<tr class="${b.status}"><td>${escapeHtml(b.id)}</td><td>${b.status}</td><td>${escapeHtml(b.reason ?? b.changes?.join('; ') ?? '')}</td><td>${image}</td><td>${seconds(b.durationMs)}</td><td>${stages}</td><td>${sizes}</td><td><a href="${escapeHtml(b.log)}">log</a></td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kiln build report ${escapeHtml(r.run)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
tr.failed td:nth-child(2),tr.quarantined td:nth-child(2){color:#b00;font-weight:bold}tr.published td:nth-child(2){color:#070}tr.unchanged td:nth-child(2){color:#555}
</style></head><body>
<h1>Build report ${escapeHtml(r.run)}</h1>
<p>Catalog <code>${escapeHtml(r.catalog)}</code>, serial ${escapeHtml(r.serial)}, started ${escapeHtml(r.started)}, ${seconds(r.durationMs)}: ${escapeHtml(summary)}. kiln ${escapeHtml(r.kiln)}. <a href="../../">image catalog</a></p>
<table><thead><tr><th>image</th><th>status</th><th>reason</th><th>build</th><th>duration</th><th>stages</th><th>sizes</th><th>log</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}

/**
 * Writes report.json and report.html into the run's directory and points
 * `reports/latest.json` at it (replaced atomically), so the web catalog can
 * link the newest report.
 */
export async function writeReport(reportsDir: string, runDir: string, report: CatalogReport): Promise<void> {
  await writeFile(path.join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(runDir, 'report.html'), renderReportHtml(report));
  await writeFileAtomic(
    path.join(reportsDir, 'latest.json'),
    `${JSON.stringify({ run: report.run, path: `reports/${report.run}/report.html` }, null, 2)}\n`,
  );
}
