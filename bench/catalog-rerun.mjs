#!/usr/bin/env node
// Change-aware skipping: a catalog built once, then built again with nothing
// changed. Every cell of the second run must be reported unchanged, and the
// second run must take at most 5% of the first (issue "Catalog builds").
//
// Usage: node bench/catalog-rerun.mjs [CATALOG] [--only PATTERN]
//   default: the repository's kiln.yaml, cells busybox and debian:bookworm:*:default
//   (a Debian build from the host's apt mirror takes a few minutes on 2 cores).
// Needs root and `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : 'busybox,debian:bookworm:*:default';
const catalog = path.resolve(args[0] ?? path.join(repo, 'kiln.yaml'));
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bench-catalog-'));
const out = path.join(dir, 'out');

function run(serial) {
  const t0 = process.hrtime.bigint();
  execFileSync(
    'node',
    [
      path.join(repo, 'bin/kiln.js'),
      'build',
      '--catalog',
      catalog,
      '--only',
      only,
      '--out',
      out,
      '--serial',
      serial,
      '--cache-dir',
      path.join(dir, 'cache'),
      '--work-dir',
      path.join(dir, 'work'),
      '--json',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const latest = JSON.parse(readFileSync(path.join(out, 'reports/latest.json'), 'utf8'));
  const report = JSON.parse(readFileSync(path.join(out, 'reports', latest.run, 'report.json'), 'utf8'));
  return { seconds, statuses: report.builds.map((b) => `${b.id} ${b.status}`) };
}

try {
  const first = run('20260101_00:00');
  const second = run('20260101_00:01');
  const ratio = second.seconds / first.seconds;
  console.log(`catalog ${catalog} --only ${only}`);
  console.log(`first run   ${first.seconds.toFixed(1)} s  ${first.statuses.join(', ')}`);
  console.log(`second run  ${second.seconds.toFixed(1)} s  ${second.statuses.join(', ')}`);
  const allUnchanged = second.statuses.every((s) => s.endsWith(' unchanged'));
  console.log(
    `ratio second/first: ${ratio.toFixed(3)} (target <= 0.05) ${ratio <= 0.05 && allUnchanged ? 'OK' : 'MISSED'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
