import os from 'node:os';
import type { Command } from '../command.js';
import { parseCommandArgs, usageError } from '../args.js';
import { BUILD_OPTIONS } from '../build-options.js';
import { UsageError } from '../../util/errors.js';
import { buildImage, defaultCacheDir } from '../../pipeline/index.js';
import { parseCompression, parseFormats, parseSquashfsCompression } from '../output-options.js';

const USAGE =
  'kiln build DEFINITION [-o key=value]... [--out DIR] [--cache-dir DIR] [--work-dir DIR] ' +
  '[--formats lxc,incus,unified] [--compression xz|zstd|gzip|none[:LEVEL]] ' +
  '[--squashfs-compression xz|zstd|gzip|lz4] [--sign KEY] [--serial SERIAL] [--release-alias NAME]... ' +
  '[--requirement KEY=VALUE]... [--lock build.lock.json] [--strict-templates] [--keep-work] [--json]\n' +
  '       kiln build --catalog FILE [--only PATTERN] [--jobs N] [--force] [--test [--test-timeout SECONDS]] ' +
  '[--quarantine DIR] [--out DIR] [--serial SERIAL] [...same output options] [--json]\n' +
  '       kiln build --catalog FILE --only CELL --bundle OUT.tar [--against URL|DIR [--ca FILE]] [--serial SERIAL] [...]';

/** The same names the catalog's release_aliases accept. */
function parseReleaseAlias(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(value))
    throw usageError(`--release-alias: '${value}' is not a name like 12 or 24.04`, USAGE);
  return value;
}

function parseRequirements(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw usageError(`--requirement: '${v}' is not KEY=VALUE (e.g. secureboot=false)`, USAGE);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

function sourceDateEpochFromEnv(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`SOURCE_DATE_EPOCH='${v}' is not a number of seconds`);
  return Number(v);
}

const command: Command = {
  name: 'build',
  summary: 'Build an image from a distribution definition and publish it into an image tree.',
  usage: USAGE,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, BUILD_OPTIONS, USAGE);
    if (values.catalog !== undefined) {
      if (values.lock !== undefined)
        throw usageError('--lock pins one build: give it with a definition file, not --catalog', USAGE);
      if (values['release-alias'] || values.requirement) {
        throw usageError(
          '--release-alias and --requirement are set per catalog entry (release_aliases, requirements)',
          USAGE,
        );
      }
      if (positionals.length !== 0)
        throw usageError('--catalog builds the definitions named in the catalog; give no definition file', USAGE);
      const { runCatalogCommand } = await import('../catalog-command.js');
      return runCatalogCommand(ctx, values, {
        formats: parseFormats,
        compression: parseCompression,
        squashfs: parseSquashfsCompression,
        sourceDateEpoch: sourceDateEpochFromEnv,
      });
    }
    for (const flag of ['only', 'jobs', 'quarantine', 'bundle', 'against', 'ca'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --catalog`);
    }
    if (values.force || values.test) throw new UsageError('--force and --test go with --catalog');
    const releaseAliases = (values['release-alias'] ?? []).map(parseReleaseAlias);
    const requirements = parseRequirements(values.requirement ?? []);
    const [definitionFile] = positionals;
    if (definitionFile === undefined || positionals.length !== 1)
      throw usageError('give exactly one definition file', USAGE);
    const formats = parseFormats(values.formats);
    const compression = parseCompression(values.compression);
    if (formats.includes('lxc') && compression.method !== 'xz') {
      ctx.sink.emit({
        type: 'log',
        level: 'warn',
        message: `LXC's download client only unpacks xz; rootfs.tar is ${compression.method}-compressed`,
      });
    }
    const controller = new AbortController();
    const onSignal = (sig: NodeJS.Signals): void => {
      ctx.sink.emit({ type: 'log', level: 'warn', message: `${sig}: stopping the build and cleaning up` });
      controller.abort(new Error(`interrupted by ${sig}`));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const sde = sourceDateEpochFromEnv();
      const { record, dir } = await buildImage({
        definitionFile,
        overrides: [...(values.option ?? []), ...(values.serial ? [`image.serial=${values.serial}`] : [])],
        strictTemplates: values['strict-templates'],
        out: values.out,
        cacheDir: values['cache-dir'] ?? defaultCacheDir(),
        workParent: values['work-dir'] ?? os.tmpdir(),
        formats,
        compression,
        squashfsCompression: parseSquashfsCompression(values['squashfs-compression']),
        keepWork: values['keep-work'],
        releaseAliases,
        requirements,
        sink: ctx.sink,
        signal: controller.signal,
        ...(values.sign ? { sign: values.sign } : {}),
        ...(values.lock !== undefined ? { lockFile: values.lock } : {}),
        ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
      });
      const p = record.product;
      ctx.sink.emit({
        type: 'result',
        status: 'ok',
        message: `published ${p.distribution}/${p.release}/${p.arch}/${p.variant} build ${record.serial} in ${dir}`,
        product: p,
        serial: record.serial,
        dir,
      });
      return 0;
    } catch (e) {
      if (controller.signal.aborted) {
        ctx.stderr.write('kiln: build interrupted; nothing was published\n');
        return 130;
      }
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

export default command;
