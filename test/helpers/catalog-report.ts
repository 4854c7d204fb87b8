import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CatalogReport {
  run: string;
  builds: Array<{ id: string; status: string; reason?: string; changes?: string[]; log: string }>;
}

/** The report of a tree's newest catalog run (`reports/latest.json` names it). */
export async function latestReport(out: string): Promise<CatalogReport> {
  const latest = JSON.parse(await readFile(path.join(out, 'reports/latest.json'), 'utf8')) as { run: string };
  return JSON.parse(await readFile(path.join(out, 'reports', latest.run, 'report.json'), 'utf8')) as CatalogReport;
}
