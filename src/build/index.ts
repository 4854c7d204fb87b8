import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadDefinition, parseExpiry, productArch } from '../definition/index.js';
import { makePlan } from '../plan/index.js';
import type { Plan, TargetKind } from '../plan/types.js';
import { fetchSource } from '../source/index.js';
import { customize } from '../customize/index.js';
import { packImage } from '../pack/index.js';
import { writeBuildRecord } from '../pack/record.js';
import type { OutputFormat, SquashfsCompression, TarCompression } from '../pack/types.js';
import { publishBuild } from '../publish/index.js';
import type { BuildRecord } from './record.js';
import type { EventSink } from '../util/events.js';
import { KILN_VERSION } from '../util/version.js';


export interface BuildOptions {
  definitionFile: string;
  overrides: string[];
  strictTemplates: boolean;
  /** The published tree. Nothing is written there unless the build succeeds. */
  out: string;
  cacheDir: string;
  /** Parent of the build's own scratch directory (removed at the end). */
  workParent: string;
  formats: OutputFormat[];
  compression: TarCompression;
  squashfsCompression: SquashfsCompression;
  sign?: string;
  /** Unix seconds; defaults to SOURCE_DATE_EPOCH or now. */
  sourceDateEpoch?: number;
  keepWork?: boolean;
  sink: EventSink;
  signal?: AbortSignal;
}

export interface BuildOutcome {
  record: BuildRecord;
  dir: string;
}

function targetsFor(formats: OutputFormat[]): TargetKind[] {
  const targets: TargetKind[] = [];
  if (formats.includes('lxc')) targets.push('lxc');
  if (formats.includes('incus') || formats.includes('unified')) targets.push('incus');
  return targets;
}

/** Runs one stage, reporting its start, end and duration. */
async function stage<T>(name: string, opts: BuildOptions, timings: Record<string, number>, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  opts.sink.emit({ type: 'stage', stage: name, status: 'start' });
  try {
    const value = await fn();
    timings[name] = Date.now() - started;
    opts.sink.emit({ type: 'stage', stage: name, status: 'done', durationMs: timings[name] });
    return value;
  } catch (e) {
    opts.sink.emit({ type: 'stage', stage: name, status: 'failed', durationMs: Date.now() - started });
    throw e;
  }
}

/**
 * definition -> plan -> source -> customize -> pack -> publish. Every stage
 * works in a private scratch directory; only the last step touches `out`, and
 * it does so atomically. The scratch directory is removed whatever happens.
 */
export async function buildImage(opts: BuildOptions): Promise<BuildOutcome> {
  const timings: Record<string, number> = {};
  const plan: Plan = await stage('plan', opts, timings, async () => {
    const loaded = await loadDefinition(opts.definitionFile, { overrides: opts.overrides, strictTemplates: opts.strictTemplates });
    return makePlan(loaded, { targets: targetsFor(opts.formats) });
  });
  const def = plan.definition;
  const now = Math.floor(Date.now() / 1000);
  const sourceDateEpoch = opts.sourceDateEpoch ?? now;
  const creationDate = sourceDateEpoch;
  const expiryDate = creationDate + parseExpiry(def.image.expiry);

  await mkdir(opts.workParent, { recursive: true });
  const work = await mkdtemp(path.join(opts.workParent, 'kiln-build-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    const staging = path.join(work, 'artifacts');
    await mkdir(rootfs, { mode: 0o755 });
    await mkdir(staging);
    await mkdir(opts.cacheDir, { recursive: true });

    const source = await stage('source', opts, timings, () =>
      fetchSource({
        definition: def,
        step: plan.source,
        rootfs,
        cacheDir: opts.cacheDir,
        workDir: work,
        sink: opts.sink,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    );
    const metadata = await stage('customize', opts, timings, () =>
      customize({ plan, rootfs, sink: opts.sink, ...(opts.signal ? { signal: opts.signal } : {}) }),
    );
    const packed = await stage('pack', opts, timings, () =>
      packImage({
        rootfs,
        plan,
        metadata,
        outDir: staging,
        formats: opts.formats,
        compression: opts.compression,
        squashfsCompression: opts.squashfsCompression,
        sourceDateEpoch,
        creationDate,
        expiryDate,
        sink: opts.sink,
        ...(opts.sign ? { sign: opts.sign } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    );
    const record: BuildRecord = {
      kiln: { version: KILN_VERSION },
      product: {
        distribution: def.image.distribution,
        release: def.image.release,
        arch: productArch(def),
        variant: def.image.variant,
      },
      serial: def.image.serial,
      os: def.image.distribution,
      releaseTitle: def.image.release,
      aliases: [],
      description: def.image.description,
      userConfig: packed.userConfig,
      creationDate,
      expiryDate,
      definition: { file: path.basename(plan.definitionFile), digest: plan.definitionDigest },
      sources: [source],
      artifacts: packed.artifacts,
      fingerprints: packed.fingerprints,
      timings: { ...timings, ...packed.timings },
    };
    await writeBuildRecord(staging, record);
    opts.signal?.throwIfAborted();
    const published = await stage('publish', opts, timings, () => publishBuild({ tree: opts.out, stagingDir: staging, record, sink: opts.sink }));
    return { record, dir: published.dir };
  } finally {
    if (!opts.keepWork) await rm(work, { recursive: true, force: true });
  }
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln');
}
