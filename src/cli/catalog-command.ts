import os from 'node:os';
import path from 'node:path';
import type { CommandContext } from './command.js';
import type { BuildValues } from './build-options.js';
import { UsageError } from '../util/errors.js';
import { positiveInt } from './args.js';
import { defaultCacheDir } from '../pipeline/index.js';
import { loadCatalog } from '../catalog/load.js';
import { CatalogView } from '../catalog/live-view.js';
import { defaultJobs, runCatalog } from '../catalog/run.js';
import { readPublished } from '../catalog/published.js';
import { defaultSerial } from '../definition/index.js';
import type { OutputFormat, SquashfsCompression, TarCompression } from '../pack/types.js';

interface Parsers {
  formats(v: string): OutputFormat[];
  compression(v: string): TarCompression;
  squashfs(v: string): SquashfsCompression;
  sourceDateEpoch(): number | undefined;
}

/** `kiln build --catalog FILE`: every combination of the catalog, with a live view and a report. */
export async function runCatalogCommand(ctx: CommandContext, values: BuildValues, parse: Parsers): Promise<number> {
  if (values.option !== undefined)
    throw new UsageError('-o goes into the catalog entries (options:), not on the command line, with --catalog');
  if (values.catalog === undefined) throw new UsageError('--catalog: give the catalog file');
  const catalog = await loadCatalog(values.catalog);
  const out = values.out;
  if (values.ca !== undefined && values.against === undefined) throw new UsageError('--ca goes with --against URL');
  const published = values.against !== undefined ? await readPublished(values.against, { ca: values.ca }) : undefined;
  const view = ctx.json ? undefined : new CatalogView(process.stderr);
  const sink = view ?? ctx.sink;
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => controller.abort(new Error(`interrupted by ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const sde = parse.sourceDateEpoch();
    const report = await runCatalog({
      catalog,
      jobs: values.jobs !== undefined ? positiveInt(values.jobs, '--jobs') : defaultJobs(),
      force: values.force,
      test: values.test,
      testTimeoutSeconds: positiveInt(values['test-timeout'], '--test-timeout'),
      out,
      cacheDir: values['cache-dir'] ?? defaultCacheDir(),
      workParent: values['work-dir'] ?? os.tmpdir(),
      quarantine: values.quarantine ?? path.join(out, '.kiln', 'quarantine'),
      serial: values.serial ?? defaultSerial(new Date()),
      compression: parse.compression(values.compression),
      squashfsCompression: parse.squashfs(values['squashfs-compression']),
      strictTemplates: values['strict-templates'],
      sink,
      signal: controller.signal,
      ...(values.only !== undefined ? { only: values.only } : {}),
      ...(values.bundle !== undefined ? { bundle: values.bundle } : {}),
      ...(published ? { published } : {}),
      ...(values.sign ? { sign: values.sign } : {}),
      ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
    });
    view?.close();
    const count = (s: string): number => report.builds.filter((b) => b.status === s).length;
    const failed = count('failed') + count('quarantined');
    const where =
      values.bundle !== undefined
        ? `bundle ${path.resolve(values.bundle)}`
        : `report ${path.join(out, 'reports', report.run, 'report.html')}`;
    const summary = `catalog run ${report.run}: ${count('published')} published, ${values.bundle !== undefined ? `${count('bundled')} bundled, ` : ''}${count('unchanged')} unchanged, ${count('quarantined')} quarantined, ${count('failed')} failed; ${values.bundle !== undefined && count('bundled') === 0 ? 'no bundle written' : where}`;
    ctx.sink.emit({
      type: 'result',
      status: failed > 0 ? 'failed' : 'ok',
      message: summary,
      report: path.join(out, 'reports', report.run, 'report.json'),
    });
    if (report.builds.length === 0)
      ctx.sink.emit({
        type: 'log',
        level: 'warn',
        message: `no combination of ${catalog.file} matches --only ${String(values.only)}`,
      });
    return failed > 0 ? 1 : 0;
  } finally {
    view?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
