import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SourceContext, SourceRecord } from './types.js';
import { downloaders } from './downloaders/index.js';
import { SourceError } from './errors.js';
import { parseSize } from '../util/size.js';

export { SourceError, VerificationError, UnsafeArchiveError } from './errors.js';
export { downloaders } from './downloaders/index.js';
export { defaultCacheDir } from './cache-dir.js';

/**
 * Runs the plan's source step: fills `ctx.rootfs` (an empty directory the
 * caller owns and keeps) with the upstream root and returns what was fetched.
 */
export async function fetchSource(ctx: SourceContext): Promise<SourceRecord> {
  const name = ctx.step.downloader;
  const downloader = downloaders.get(name);
  if (!downloader) {
    const known = [...downloaders.keys()].sort().join(', ');
    throw new SourceError(`source.downloader: unknown downloader "${name}"; known downloaders: ${known}`);
  }
  try {
    return await downloader.fetch(ctx.limits ? ctx : { ...ctx, limits: definitionLimits(ctx) });
  } catch (e) {
    await emptyDirectory(ctx.rootfs);
    throw e;
  }
}

/** `source.unpack` of the definition; what it leaves out keeps its default. */
function definitionLimits(ctx: SourceContext): NonNullable<SourceContext['limits']> {
  const u = ctx.step.source.unpack ?? {};
  return {
    ...(u.max_size !== undefined && { maxBytes: parseSize(u.max_size, 'source.unpack.max_size') }),
    ...(u.max_entries !== undefined && { maxEntries: u.max_entries }),
    ...(u.max_ratio !== undefined && { maxRatio: u.max_ratio }),
    ...(u.devices !== undefined && { devices: u.devices }),
  };
}

/** Nothing half-unpacked stays behind; the directory itself belongs to the caller. */
async function emptyDirectory(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.map((n) => rm(path.join(dir, n), { recursive: true, force: true })));
}
