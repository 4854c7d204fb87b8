import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln } from './kiln.js';

/**
 * Slow real builds (Debian) are made once per test run and shared by every
 * test file that needs them. The global setup names the run
 * (KILN_TEST_RUN); each build lives in `<tmp>/kiln-shared-<run>/<name>/`
 * and is made by the first file that asks, under a lock.
 */
export function sharedRoot(): string {
  const run = process.env.KILN_TEST_RUN;
  if (!run) throw new Error('KILN_TEST_RUN is not set: run the tests through vitest (test/global-setup.ts)');
  return path.join(os.tmpdir(), `kiln-shared-${run}`);
}

export interface SharedBuild {
  /** The published tree (`--out`). */
  out: string;
  /** The build's output, for diagnosing failures. */
  log: string;
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/**
 * Builds `definition` with `args` into a shared tree once per run. A failed
 * build is remembered too, so every test that needs it fails fast with the
 * same log instead of rebuilding.
 */
export async function sharedBuild(name: string, definition: string, args: string[] = []): Promise<SharedBuild> {
  const base = path.join(sharedRoot(), name);
  await mkdir(sharedRoot(), { recursive: true });
  return withLock(`${base}.lock`, async () => {
    const out = path.join(base, 'out');
    const logFile = path.join(base, 'build.log');
    const status = path.join(base, 'status');
    if (!existsSync(status)) {
      await mkdir(base, { recursive: true });
      const r = await kiln(
        ['build', definition, '--out', out, '--cache-dir', path.join(sharedRoot(), 'cache'), ...args],
        {
          timeout: 40 * 60_000,
        },
      );
      await writeFile(logFile, r.all ?? '');
      await writeFile(status, String(r.exitCode));
    }
    const log = await readFile(logFile, 'utf8');
    const code = (await readFile(status, 'utf8')).trim();
    if (code !== '0') throw new Error(`shared build ${name} failed (exit ${code}):\n${log.slice(-4000)}`);
    return { out, log };
  });
}

export interface SharedCatalogRun {
  /** The published tree. */
  out: string;
  catalog: string;
  /** report.json of the run. */
  report: { run: string; builds: Array<{ id: string; status: string; reason?: string; serial?: string; log: string }> };
  /** The build log of one cell (`debian:bookworm:amd64:default`). */
  logOf(id: string): Promise<string>;
}

/** The catalog every Debian test shares: kiln's busybox and Debian bookworm and trixie, default and cloud. */
export const SHARED_CATALOG_SERIAL = '20260101_00:00';
/** Fixed, so a rebuild of any cell with the same serial must give the same bytes. */
export const SHARED_SOURCE_DATE_EPOCH = '1767225600';

/**
 * `kiln build --catalog --jobs 2 --test` of busybox and Debian (bookworm and
 * trixie, default and cloud), once per test run: the slow real builds every
 * Debian test reads from.
 */
export async function sharedDebianCatalog(): Promise<SharedCatalogRun> {
  const base = path.join(sharedRoot(), 'debian-catalog');
  await mkdir(sharedRoot(), { recursive: true });
  return withLock(`${base}.lock`, async () => {
    const out = path.join(base, 'out');
    const catalog = path.join(base, 'kiln.yaml');
    const status = path.join(base, 'status');
    const logFile = path.join(base, 'run.log');
    if (!existsSync(status)) {
      await mkdir(base, { recursive: true });
      const defs = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../definitions');
      await writeFile(
        catalog,
        [
          'images:',
          `- definition: ${defs}/busybox.yaml`,
          `- definition: ${defs}/debian.yaml`,
          '  releases: [bookworm, trixie]',
          '  architectures: [amd64]',
          '  variants: [default, cloud]',
          '',
        ].join('\n'),
      );
      const r = await kiln(
        [
          'build',
          '--catalog',
          catalog,
          '--jobs',
          '2',
          '--test',
          '--out',
          out,
          '--serial',
          SHARED_CATALOG_SERIAL,
          '--cache-dir',
          path.join(sharedRoot(), 'cache'),
        ],
        { timeout: 60 * 60_000, env: { SOURCE_DATE_EPOCH: SHARED_SOURCE_DATE_EPOCH } },
      );
      await writeFile(logFile, r.all ?? '');
      await writeFile(status, String(r.exitCode));
    }
    const code = (await readFile(status, 'utf8')).trim();
    const runLog = await readFile(logFile, 'utf8');
    // The report of the shared run itself, whatever later runs on the tree wrote since.
    const runId = SHARED_CATALOG_SERIAL.replace(/:/g, '');
    const reportFile = path.join(out, 'reports', runId, 'report.json');
    if (!existsSync(reportFile))
      throw new Error(`shared catalog run failed (exit ${code}) without a report:\n${runLog.slice(-4000)}`);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as SharedCatalogRun['report'];
    return {
      out,
      catalog,
      report,
      logOf: async (id: string) => {
        const b = report.builds.find((x) => x.id === id);
        if (!b) throw new Error(`no build ${id} in the shared catalog run`);
        return readFile(path.join(out, 'reports', runId, b.log), 'utf8');
      },
    };
  });
}
