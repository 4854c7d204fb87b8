import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lookupArchitecture, mapArchitecture } from '../../src/definition/architectures.js';
import type { MappingsSection, ResolvedDefinition, SourceSection } from '../../src/definition/types.js';
import { fetchSource } from '../../src/source/index.js';
import type { SourceContext, SourceRecord } from '../../src/source/types.js';
import { MemorySink } from '../../src/util/events.js';

export interface DownloaderRun extends SourceContext {
  sink: MemorySink;
  base: string;
  cleanup(): Promise<void>;
}

export interface RunOptions {
  release: string;
  architecture?: string;
  variant?: string;
  mappings?: MappingsSection;
  /** A cache shared between tests of one file keeps them fast. */
  cacheDir?: string;
}

/** A source context as the build hands it over, with image.architecture_mapped computed from `mappings` like the definition stage does. */
export async function downloaderContext(source: SourceSection, opts: RunOptions): Promise<DownloaderRun> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'kiln-dl-test-'));
  const rootfs = path.join(base, 'rootfs');
  const workDir = path.join(base, 'work');
  const cacheDir = opts.cacheDir ?? path.join(base, 'cache');
  await Promise.all([mkdir(rootfs), mkdir(workDir), mkdir(cacheDir, { recursive: true })]);
  const typed = opts.architecture ?? 'amd64';
  const arch = lookupArchitecture(typed);
  const definition: ResolvedDefinition = {
    image: {
      distribution: 'test',
      release: opts.release,
      architecture: typed,
      architecture_mapped: mapArchitecture(typed, opts.mappings?.architecture_map, opts.mappings?.architectures),
      architecture_kernel: arch?.kernel ?? typed,
      architecture_personality: arch?.personality ?? 'linux64',
      variant: opts.variant ?? 'default',
      serial: '20250115_1030',
      expiry: '30d',
      name: 'test',
      description: 'test',
    },
    source,
    ...(opts.mappings ? { mappings: opts.mappings } : {}),
  };
  const sink = new MemorySink();
  return {
    definition,
    step: { kind: 'source', name: 'source', downloader: source.downloader, source, early: { install: [], remove: [] } },
    rootfs,
    cacheDir,
    workDir,
    sink,
    base,
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** Runs the source stage and always removes the context; returns the record or the error. */
export async function runSource(
  source: SourceSection,
  opts: RunOptions,
  inspect?: (ctx: DownloaderRun, record: SourceRecord) => Promise<void> | void,
): Promise<SourceRecord> {
  const ctx = await downloaderContext(source, opts);
  try {
    const record = await fetchSource(ctx);
    await inspect?.(ctx, record);
    return record;
  } finally {
    await ctx.cleanup();
  }
}

/** The error a source run fails with (the test fails if it succeeds). */
export async function sourceError(source: SourceSection, opts: RunOptions): Promise<Error> {
  const ctx = await downloaderContext(source, opts);
  try {
    await fetchSource(ctx);
  } catch (e) {
    return e as Error;
  } finally {
    await ctx.cleanup();
  }
  throw new Error('the source stage succeeded but was expected to fail');
}
