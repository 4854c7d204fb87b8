import os from 'node:os';
import type { CommandContext } from './command.js';
import { parseCommandArgs, usageError } from './args.js';
import { defaultCacheDir } from '../pipeline/index.js';
import { loadCatalog } from '../catalog/load.js';
import { planMatrix } from '../catalog/plan-matrix.js';
import { readPublished } from '../catalog/published.js';
import { parseCompression, parseSquashfsCompression } from './output-options.js';

/**
 * `kiln plan --catalog FILE --matrix`: every cell of the catalog with its
 * input digest and whether `kiln build --catalog` would skip it, so a CI
 * system can run one `kiln build --catalog FILE --only ID` job per cell.
 */
export async function planCatalogMatrix(ctx: CommandContext, usage: string): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    ctx.argv,
    {
      catalog: { type: 'string' },
      matrix: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: 'out' },
      force: { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
      compression: { type: 'string', default: 'xz' },
      'squashfs-compression': { type: 'string', default: 'xz' },
      'strict-templates': { type: 'boolean', default: false },
      sign: { type: 'string' },
      against: { type: 'string' },
      ca: { type: 'string' },
    },
    usage,
  );
  if (positionals.length > 0) throw usageError('--catalog takes no definition file', usage);
  if (!values.matrix) throw usageError('--catalog goes with --matrix', usage);
  if (values.catalog === undefined) throw usageError('--catalog: give the catalog file', usage);
  const catalog = await loadCatalog(values.catalog);
  // The output choices change the input digest: the matrix digests the ones
  // given here, and each cell's command passes them on to its build.
  const flags = [
    ...(values.compression !== 'xz' ? ['--compression', values.compression] : []),
    ...(values['squashfs-compression'] !== 'xz' ? ['--squashfs-compression', values['squashfs-compression']] : []),
    ...(values['strict-templates'] ? ['--strict-templates'] : []),
    ...(values.sign !== undefined ? ['--sign', values.sign] : []),
  ];
  if (values.ca !== undefined && values.against === undefined) throw usageError('--ca goes with --against URL', usage);
  const published = values.against !== undefined ? await readPublished(values.against, { ca: values.ca }) : undefined;
  const rows = await planMatrix(catalog, {
    out: values.out,
    cacheDir: values['cache-dir'] ?? defaultCacheDir(),
    workParent: os.tmpdir(),
    force: values.force,
    compression: parseCompression(values.compression),
    squashfsCompression: parseSquashfsCompression(values['squashfs-compression']),
    strictTemplates: values['strict-templates'],
    flags,
    ...(values.sign !== undefined ? { sign: values.sign } : {}),
    ...(values.only !== undefined ? { only: values.only } : {}),
    ...(published ? { published } : {}),
  });
  if (ctx.json) ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    for (const r of rows) {
      const state = r.error
        ? `error: ${r.error.split('\n')[0]}`
        : r.wouldSkip === true
          ? 'unchanged (skip)'
          : r.wouldSkip === false
            ? 'build'
            : 'build unless the source is unchanged';
      const how = r.emulated ? ' (emulated: qemu-user)' : '';
      ctx.stdout.write(`${r.id.padEnd(40)} ${(r.inputDigest ?? '-').slice(0, 12).padEnd(12)} ${state}${how}\n`);
      for (const change of r.changes) ctx.stdout.write(`${''.padEnd(54)}because: ${change}\n`);
    }
  }
  return rows.some((r) => r.error) ? 1 : 0;
}
