import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadDefinition, parseExpiry, productArch } from '../definition/index.js';
import { makePlan } from '../plan/index.js';
import type { Plan, TargetKind } from '../plan/types.js';
import { emulatorFor } from '../runtime/emulation.js';
import { downloaders, fetchSource } from '../source/index.js';
import type { SourceIdentity } from '../source/types.js';
import { customize } from '../customize/index.js';
import { packImage } from '../pack/index.js';
import { writeBuildRecord } from '../pack/record.js';
import type { OutputFormat, SquashfsCompression, TarCompression } from '../pack/types.js';
import { publishBuild } from '../publish/index.js';
import { streamOsName } from '../publish/names.js';
import type { BuildRecord } from './record.js';
import type { EventSink } from '../util/events.js';
import { KILN_VERSION } from '../util/version.js';
import { detachMountsUnder } from '../util/mounts.js';
import { makeOwnedWorkDir, sweepStaleWorkDirs } from '../util/work-dir.js';
import { log } from '../util/events.js';
import {
  identityFromRecord,
  inputDigest,
  inputParts,
  planDigest,
  sha256Json,
  type InputParts,
} from './input-digest.js';
import { readLock } from '../plan/lock.js';
import { checkImageAgainstLock, checkSourceAgainstLock } from './lock-check.js';

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
  /** Other names of the release, e.g. `12` for bookworm: aliases `<dist>/12[/<variant>]`. */
  releaseAliases?: string[];
  /** Simplestreams requirements of the product, e.g. `secureboot: "false"`. */
  requirements?: Record<string, string>;
  /** Unix seconds; defaults to SOURCE_DATE_EPOCH or now. */
  sourceDateEpoch?: number;
  keepWork?: boolean;
  /** `--lock`: a build.lock.json whose package versions the build must install. */
  lockFile?: string;
  sink: EventSink;
  signal?: AbortSignal | undefined;
}

/** The plan of a build and the digest of what it will do. */
export interface PreparedBuild {
  plan: Plan;
  /** Of the plan without a lock's pins: a build and its repetition from the lock digest alike. */
  planDigest: string;
  /** Digest of the pinned versions, with `--lock`. */
  lockDigest?: string;
}

/** A finished build waiting to be published (or quarantined). */
export interface BuiltImage {
  record: BuildRecord;
  /** Artifacts, SHA256SUMS and build.json. */
  stagingDir: string;
  /** Removes the build's scratch directory (unless --keep-work). */
  dispose(): Promise<void>;
}

/** Thrown by buildArtifacts when `unchanged` says the build is not needed. */
export class BuildUnchanged extends Error {
  constructor(readonly inputDigest: string) {
    super('unchanged');
  }
}

export function targetsFor(formats: OutputFormat[]): TargetKind[] {
  const targets: TargetKind[] = [];
  if (formats.includes('lxc')) targets.push('lxc');
  if (formats.includes('incus') || formats.includes('unified')) targets.push('incus');
  return targets;
}

/** Runs one stage, reporting its start, end and duration. */
export async function stage<T>(
  name: string,
  sink: EventSink,
  timings: Record<string, number>,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  sink.emit({ type: 'stage', stage: name, status: 'start' });
  try {
    const value = await fn();
    timings[name] = Date.now() - started;
    sink.emit({ type: 'stage', stage: name, status: 'done', durationMs: timings[name] });
    return value;
  } catch (e) {
    sink.emit({ type: 'stage', stage: name, status: 'failed', durationMs: Date.now() - started });
    throw e;
  }
}

/** Loads and checks the definition and resolves the plan: no download, no root. */
export async function prepareBuild(opts: BuildOptions, timings: Record<string, number> = {}): Promise<PreparedBuild> {
  return stage('plan', opts.sink, timings, async () => {
    const targets = targetsFor(opts.formats);
    const loaded = await loadDefinition(opts.definitionFile, {
      overrides: opts.overrides,
      strictTemplates: opts.strictTemplates,
    });
    const unlocked = makePlan(loaded, { targets });
    // A foreign architecture without its qemu-user interpreter stops here, before any download.
    emulatorFor(unlocked.definition.image.architecture_kernel);
    if (opts.lockFile === undefined) return { plan: unlocked, planDigest: planDigest(unlocked) };
    const lock = await readLock(opts.lockFile);
    const plan = makePlan(loaded, { targets, lock: { file: opts.lockFile, lock } });
    return { plan, planDigest: planDigest(unlocked), lockDigest: sha256Json(lock.packages) };
  });
}

/** What upstream serves now, when the downloader can tell without fetching the root. */
export async function probeSource(prepared: PreparedBuild, opts: BuildOptions): Promise<SourceIdentity | undefined> {
  const downloader = downloaders.get(prepared.plan.source.downloader);
  if (!downloader?.probe) return undefined;
  return downloader.probe({
    definition: prepared.plan.definition,
    step: prepared.plan.source,
    cacheDir: opts.cacheDir,
    workDir: opts.workParent,
    sink: opts.sink,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

function outputChoices(opts: BuildOptions): unknown {
  const published = {
    ...(opts.releaseAliases?.length ? { releaseAliases: opts.releaseAliases } : {}),
    ...(opts.requirements && Object.keys(opts.requirements).length ? { requirements: opts.requirements } : {}),
  };
  return {
    formats: [...opts.formats].sort(),
    compression: opts.compression,
    squashfs: opts.squashfsCompression,
    sign: Boolean(opts.sign),
    // What the index says of the build counts too: a new alias must republish.
    ...(Object.keys(published).length ? { published } : {}),
  };
}

/** lxc-ci's release aliases: `<dist>/<alias>/<variant>`, and `<dist>/<alias>` for the default variant. */
export function releaseAliasNames(distribution: string, variant: string, releaseAliases: string[]): string[] {
  return releaseAliases.flatMap((a) =>
    variant === 'default'
      ? [`${distribution}/${a}`, `${distribution}/${a}/${variant}`]
      : [`${distribution}/${a}/${variant}`],
  );
}

export function partsOf(prepared: PreparedBuild, identity: SourceIdentity, opts: BuildOptions): InputParts {
  return inputParts({
    planDigest: prepared.planDigest,
    source: identity,
    outputs: outputChoices(opts),
    lock: prepared.lockDigest,
  });
}

/**
 * source -> customize -> pack, in a private scratch directory. `unchanged`
 * is asked once the input digest is known (before the source stage when the
 * downloader can probe, after it otherwise); answering true stops the build
 * with BuildUnchanged. On failure the scratch directory is removed.
 */
export async function buildArtifacts(
  prepared: PreparedBuild,
  opts: BuildOptions,
  unchanged?: (inputDigest: string, parts: InputParts) => Promise<boolean>,
  timings: Record<string, number> = {},
): Promise<BuiltImage> {
  const { plan } = prepared;
  const def = plan.definition;
  const sourceDateEpoch = opts.sourceDateEpoch ?? Math.floor(Date.now() / 1000);
  const creationDate = sourceDateEpoch;
  const expiryDate = creationDate + parseExpiry(def.image.expiry);

  let digest: string | undefined;
  let parts: InputParts | undefined;
  const probed = await probeSource(prepared, opts);
  if (probed) {
    parts = partsOf(prepared, probed, opts);
    digest = inputDigest(parts);
    if (unchanged && (await unchanged(digest, parts))) throw new BuildUnchanged(digest);
  }

  await mkdir(opts.workParent, { recursive: true });
  for (const stale of await sweepStaleWorkDirs(opts.workParent, 'kiln-build-'))
    log(opts.sink, 'warn', `removed the work dir of a build that died: ${stale}`);
  const work = await makeOwnedWorkDir(opts.workParent, 'kiln-build-');
  const dispose = async (): Promise<void> => {
    // A bootstrapper killed outright (SIGKILL after the grace period, OOM)
    // leaves proc and sysfs mounted in the root: never delete through them.
    const detached = await detachMountsUnder(work);
    if (detached.length)
      log(opts.sink, 'warn', `detached what a host tool left mounted in the build root: ${detached.join(', ')}`);
    if (!opts.keepWork) await rm(work, { recursive: true, force: true });
  };
  try {
    const rootfs = path.join(work, 'rootfs');
    const staging = path.join(work, 'artifacts');
    await mkdir(rootfs, { mode: 0o755 });
    await mkdir(staging);
    await mkdir(opts.cacheDir, { recursive: true });
    const signal = opts.signal ? { signal: opts.signal } : {};

    const source = await stage('source', opts.sink, timings, () =>
      fetchSource({
        definition: def,
        step: plan.source,
        rootfs,
        cacheDir: opts.cacheDir,
        workDir: work,
        sink: opts.sink,
        ...signal,
      }),
    );
    if (!digest || !parts) {
      parts = partsOf(prepared, identityFromRecord(source), opts);
      digest = inputDigest(parts);
      if (unchanged && (await unchanged(digest, parts))) throw new BuildUnchanged(digest);
    }
    const distribution = def.image.distribution;
    if (plan.lock) checkSourceAgainstLock(plan.lock, source, opts.sink);
    const metadata = await stage('customize', opts.sink, timings, () =>
      customize({ plan, rootfs, sink: opts.sink, ...signal }),
    );
    if (plan.lock) await checkImageAgainstLock(plan.lock, rootfs, distribution, opts.sink, opts.signal);
    const packed = await stage('pack', opts.sink, timings, () =>
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
        lock: { plan: prepared.planDigest, inputs: source.inputs.map((i) => ({ url: i.url, sha256: i.sha256 })) },
        sink: opts.sink,
        ...(opts.sign ? { sign: opts.sign } : {}),
        ...signal,
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
      os: streamOsName(def.image.distribution),
      releaseTitle: def.image.release,
      aliases: releaseAliasNames(def.image.distribution, def.image.variant, opts.releaseAliases ?? []),
      ...(opts.requirements && Object.keys(opts.requirements).length ? { requirements: { ...opts.requirements } } : {}),
      description: def.image.description,
      userConfig: packed.userConfig,
      creationDate,
      expiryDate,
      definition: { file: path.basename(plan.definitionFile), digest: plan.definitionDigest },
      inputDigest: digest,
      inputParts: parts,
      sources: [source],
      artifacts: packed.artifacts,
      fingerprints: packed.fingerprints,
      lint: packed.lint,
      timings: { ...timings, ...packed.timings },
    };
    await writeBuildRecord(staging, record);
    return { record, stagingDir: staging, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/**
 * definition -> plan -> source -> customize -> pack -> publish. Only the
 * last step touches `out`, atomically; the scratch directory is removed
 * whatever happens.
 */
export async function buildImage(opts: BuildOptions): Promise<{ record: BuildRecord; dir: string }> {
  const timings: Record<string, number> = {};
  const prepared = await prepareBuild(opts, timings);
  const built = await buildArtifacts(prepared, opts, undefined, timings);
  try {
    opts.signal?.throwIfAborted();
    const published = await stage('publish', opts.sink, timings, () =>
      publishBuild({ tree: opts.out, stagingDir: built.stagingDir, record: built.record, sink: opts.sink }),
    );
    return { record: built.record, dir: published.dir };
  } finally {
    await built.dispose();
  }
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln');
}
