import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import {
  buildArtifacts,
  BuildUnchanged,
  prepareBuild,
  stage,
  type BuildOptions,
  type BuiltImage,
} from '../pipeline/index.js';
import { productKey } from '../publish/names.js';
import { pruneTree, publishBuild } from '../publish/index.js';
import { writeBundle } from '../publish/bundle.js';
import { readPruneState } from '../publish/prune-state.js';
import { scanTree } from '../publish/tree-scan.js';
import type { BuildRecord, ProductId } from '../pipeline/record.js';
import { isKilnError, KilnError } from '../util/errors.js';
import { log, nullSink, teeSink, type EventSink, type KilnEvent } from '../util/events.js';
import { KILN_VERSION } from '../util/version.js';
import { makeOwnedWorkDir, sweepStaleWorkDirs } from '../util/work-dir.js';
import { bootTest } from './boot-test.js';
import { fileSafe, quarantineBuild } from './quarantine.js';
import { bootTestRefusal } from '../runtime/host-binfmt.js';
import { LogFileSink } from './log-sink.js';
import { cellBuildOptions, type CatalogOutputChoices } from './cell-options.js';
import { expandCatalog, rebuildReasons } from './matrix.js';
import type { InputParts } from '../pipeline/input-digest.js';
import { writeReport, type BuildReport, type CatalogReport } from './report.js';
import type { Catalog, Combination } from './types.js';

export interface CatalogRunOptions extends CatalogOutputChoices {
  catalog: Catalog;
  only?: string;
  jobs: number;
  force: boolean;
  /** Boot-test every image with the real LXC client before publishing. */
  test: boolean;
  testTimeoutSeconds: number;
  workParent: string;
  /** Where images that fail the boot test are kept, with their logs. */
  quarantine: string;
  /** One serial for every build of the run. */
  serial: string;
  sink: EventSink;
  signal?: AbortSignal | undefined;
  /**
   * Build the one cell `only` selects into this bundle file instead of
   * publishing it (`kiln publish` takes it into a tree later, elsewhere).
   */
  bundle?: string | undefined;
  /** The newest published build per product key, when the tree is not `out` (a served tree, --against). */
  published?: Map<string, BuildRecord> | undefined;
}

/** A machine's default parallelism: its cores, but no more builds than 4 GiB of memory each allows. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(os.availableParallelism(), Math.floor(os.totalmem() / 2 ** 32)));
}

/** Tags every event of one build with its id. */
function tagged(sink: EventSink, build: string): EventSink {
  return { emit: (e: KilnEvent) => sink.emit({ ...e, build }) };
}

/**
 * Builds every combination of a catalog: in parallel (p-queue), each in its
 * own work dir, container and log file; a failing build never stops or
 * touches the others. Unchanged inputs are skipped; with `test`, only images
 * that boot under the real LXC client are published, the others are kept in
 * quarantine. Writes report.json and report.html under `<out>/reports/`.
 */
export async function runCatalog(opts: CatalogRunOptions): Promise<CatalogReport> {
  const started = new Date();
  const runId = opts.serial.replace(/:/g, '');
  const combinations = expandCatalog(opts.catalog, opts.only);
  if (opts.bundle !== undefined && combinations.length !== 1)
    throw new KilnError(
      `--bundle builds one cell, but --only ${opts.only ?? '(none)'} selects ${combinations.length} of ${opts.catalog.file}${combinations.length ? `: ${combinations.map((c) => c.id).join(', ')}` : ''}`,
    );
  await mkdir(opts.workParent, { recursive: true });
  // A bundle run has no tree: its log and report travel inside the bundle.
  const bundleWork = opts.bundle !== undefined ? await makeOwnedWorkDir(opts.workParent, 'kiln-catalog-') : undefined;
  const reportDir = bundleWork ?? path.join(opts.out, 'reports', runId);
  const logDir = path.join(reportDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const newest = opts.published ?? (bundleWork ? new Map<string, BuildRecord>() : await newestPublished(opts.out));

  for (const prefix of ['kiln-catalog-', 'kiln-build-'])
    for (const stale of await sweepStaleWorkDirs(opts.workParent, prefix))
      log(opts.sink, 'warn', `removed the work dir of a run that died: ${stale}`);
  for (const c of combinations) opts.sink.emit({ type: 'build', build: c.id, status: 'queued' });
  const queue = new PQueue({ concurrency: Math.max(1, opts.jobs) });
  const reports = await Promise.all(
    combinations.map((c) => queue.add(() => runOne(c, opts, newest, logDir), { throwOnTimeout: true })),
  );

  const reportOfRun = (): CatalogReport => ({
    kiln: KILN_VERSION,
    run: runId,
    serial: opts.serial,
    catalog: path.resolve(opts.catalog.file),
    started: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    builds: reports,
  });
  if (bundleWork) {
    await rm(bundleWork, { recursive: true, force: true });
    return reportOfRun();
  }
  if (reports.some((r) => r.status === 'published')) {
    // Each product keeps what its catalog entry says; products the catalog does not name keep the catalog default.
    const keepOf = new Map(
      reports.filter((r) => r.product).map((r) => [productKey(r.product as ProductId), r.keep as number]),
    );
    await pruneTree({
      tree: opts.out,
      keep: opts.catalog.keep,
      keepFor: (p) => keepOf.get(productKey(p)),
      graceMs: opts.catalog.graceMs,
      sink: opts.sink,
    });
  }
  const report = reportOfRun();
  await writeReport(path.join(opts.out, 'reports'), reportDir, report);
  return report;
}

/** The newest complete build of each product of a tree on this machine. */
export async function newestPublished(tree: string): Promise<Map<string, BuildRecord>> {
  const pending = new Set((await readPruneState(path.resolve(tree))).pending.map((p) => p.path));
  const published = await scanTree(path.resolve(tree), { exclude: pending, sink: nullSink });
  return new Map([...published].map(([k, builds]) => [k, (builds[0] as { record: BuildRecord }).record]));
}

async function runOne(
  c: Combination,
  opts: CatalogRunOptions,
  newest: Map<string, BuildRecord>,
  logDir: string,
): Promise<BuildReport> {
  const started = Date.now();
  const logFile = path.join(logDir, `${fileSafe(c.id)}.log`);
  const fileSink = new LogFileSink(logFile);
  const sink = teeSink(fileSink, tagged(opts.sink, c.id));
  const timings: Record<string, number> = {};
  const report: BuildReport = {
    id: c.id,
    status: 'failed',
    durations: timings,
    sizes: {},
    log: path.relative(path.dirname(logDir), logFile),
  };
  const finish = (status: BuildReport['status'], reason?: string): BuildReport => {
    report.status = status;
    if (reason) report.reason = reason;
    report.durationMs = Date.now() - started;
    sink.emit({ type: 'build', status, durationMs: report.durationMs, ...(reason ? { reason } : {}) });
    return report;
  };
  sink.emit({ type: 'build', status: 'start' });
  let workParent: string | undefined;
  let built: BuiltImage | undefined;
  try {
    await mkdir(opts.workParent, { recursive: true });
    workParent = await makeOwnedWorkDir(opts.workParent, 'kiln-catalog-');
    const buildOpts: BuildOptions = cellBuildOptions(c, opts, {
      workParent,
      sink,
      serial: opts.serial,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const prepared = await prepareBuild(buildOpts, timings);
    const def = prepared.plan.definition;
    report.product = {
      distribution: def.image.distribution,
      release: def.image.release,
      arch: c.id.split(':')[2] as string,
      variant: def.image.variant,
    };
    report.keep = c.entry.keep;
    const testable = opts.test && c.entry.formats.includes('lxc');
    const refusal = testable ? await bootTestRefusal(def.image.architecture_kernel) : undefined;
    if (refusal) return finish('failed', refusal);
    const previous = newest.get(productKey(report.product));
    const unchanged = async (digest: string, parts: InputParts): Promise<boolean> => {
      report.inputDigest = digest;
      const same = !opts.force && previous?.inputDigest === digest;
      if (!same) {
        report.changes = rebuildReasons(previous, parts, opts.force);
        log(sink, 'info', `building because: ${report.changes.join('; ')}`);
      }
      return same;
    };
    try {
      built = await buildArtifacts(prepared, buildOpts, unchanged, timings);
    } catch (e) {
      if (e instanceof BuildUnchanged) {
        report.serial = previous?.serial;
        return finish('unchanged', `same inputs as the published build ${previous?.serial}`);
      }
      throw e;
    }
    report.serial = built.record.serial;
    report.sizes = Object.fromEntries(built.record.artifacts.map((a) => [a.name, a.size]));
    let stagingDir = built.stagingDir;
    if (testable) {
      const testWork = path.join(workParent, 'boot-test');
      await mkdir(testWork);
      const result = await stage('test', sink, timings, () =>
        bootTest({
          stagingDir,
          record: built!.record,
          workDir: testWork,
          timeoutSeconds: opts.testTimeoutSeconds,
          sink,
          log: (l) => fileSink.write(l),
        }),
      );
      stagingDir = result.buildDir;
      if (!result.ok) {
        report.quarantine = await quarantineBuild({
          root: opts.quarantine,
          cell: c.id,
          serial: built.record.serial,
          buildDir: stagingDir,
          logs: { 'build.log': logFile },
        });
        return finish('quarantined', result.reason);
      }
    }
    if (opts.bundle !== undefined) {
      const bundle = opts.bundle;
      const record = built.record;
      const finished = finish('bundled');
      await writeFile(
        path.join(workParent, 'report.json'),
        `${JSON.stringify({ ...finished, log: path.basename(logFile) }, null, 2)}\n`,
      );
      await stage('bundle', sink, timings, () =>
        writeBundle({
          stagingDir,
          record,
          cell: c.id,
          keep: c.entry.keep,
          catalogKeep: opts.catalog.keep,
          graceMs: opts.catalog.graceMs,
          logs: [logFile, path.join(workParent!, 'report.json')],
          out: bundle,
          workDir: workParent!,
          sourceDateEpoch: record.creationDate,
        }),
      );
      report.dir = path.resolve(bundle);
      log(sink, 'info', `bundle ${report.dir}`);
      return report;
    }
    const { dir } = await stage('publish', sink, timings, () =>
      publishBuild({ tree: opts.out, stagingDir, record: built!.record, sink }),
    );
    report.dir = path.relative(opts.out, dir);
    return finish('published');
  } catch (e) {
    const reason = isKilnError(e)
      ? [e.message, ...e.details].join('\n')
      : e instanceof Error
        ? (e.stack ?? e.message)
        : String(e);
    fileSink.write(`error: ${reason}`);
    return finish('failed', reason.split('\n')[0]);
  } finally {
    await built?.dispose();
    if (workParent) await rm(workParent, { recursive: true, force: true });
  }
}
