import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { BuildRecord, ProductId } from '../pipeline/record.js';
import { unpackArchive } from '../source/unpack/index.js';
import { isKilnError, KilnError } from '../util/errors.js';
import { log, nullSink, type EventSink } from '../util/events.js';
import { makeOwnedWorkDir, sweepStaleWorkDirs } from '../util/work-dir.js';
import { fsyncDir, writeFileAtomic } from './atomic-write.js';
import { buildRelDir, checkProduct, checkSerial, compareSerials, productKey } from './names.js';
import { pruneTreeLocked } from './prune.js';
import { readPruneState } from './prune-state.js';
import { removeStaging } from './regenerate.js';
import { stateDir, withTreeLock } from './tree-lock.js';
import { parseBuildRecord, scanTree } from './tree-scan.js';
import { parseSha256Sums, verifyStagedBuild } from './verify.js';

const run = promisify(execFile);

/** What a bundle's tar holds besides the build: the name a reader checks first. */
export const BUNDLE_FORMAT = 'kiln-bundle/1';
const MANIFEST = 'kiln-bundle.json';

/**
 * `kiln-bundle.json`: what a bundle is, readable without the build. A bundle
 * is the unit a CI engine passes from a worker to the publishing job.
 */
export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  /** The catalog cell (`dist:release:arch:variant`). */
  cell: string;
  product: ProductId;
  serial: string;
  inputDigest: string;
  /** Builds of this product the catalog keeps, and the catalog's default and grace. */
  keep: number;
  catalogKeep: number;
  graceMs: number;
}

export interface WriteBundleOptions {
  /** The build's staging directory: artifacts, SHA256SUMS, build.json (and .asc files). */
  stagingDir: string;
  record: BuildRecord;
  cell: string;
  keep: number;
  catalogKeep: number;
  graceMs: number;
  /** Files put under `logs/` (the cell's log, its report). */
  logs: string[];
  /** Where the tar goes; replaced atomically. */
  out: string;
  /** Where the bundle is laid out before tar reads it. */
  workDir: string;
  sourceDateEpoch: number;
}

/**
 * Writes a bundle: a plain tar (the artifacts are compressed already) of
 * `kiln-bundle.json`, `build/` (the build directory as it would be
 * published) and `logs/`. Owners and times are fixed, so the same build
 * gives the same bytes.
 */
export async function writeBundle(opts: WriteBundleOptions): Promise<string> {
  const r = opts.record;
  if (!r.inputDigest) throw new KilnError(`${opts.stagingDir}: the build records no input digest; cannot bundle it`);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    cell: opts.cell,
    product: r.product,
    serial: r.serial,
    inputDigest: r.inputDigest,
    keep: opts.keep,
    catalogKeep: opts.catalogKeep,
    graceMs: opts.graceMs,
  };
  const layout = join(opts.workDir, 'bundle');
  await mkdir(join(layout, 'logs'), { recursive: true });
  await rename(opts.stagingDir, join(layout, 'build')).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EXDEV') throw e;
    await run('cp', ['-a', '--', opts.stagingDir, join(layout, 'build')]);
  });
  for (const f of opts.logs) await copyFile(f, join(layout, 'logs', basename(f)));
  await writeFile(join(layout, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  const out = resolve(opts.out);
  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  try {
    await run('tar', [
      '--create',
      '--file',
      tmp,
      '--format=posix',
      '--pax-option=delete=atime,delete=ctime',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--sort=name',
      `--mtime=@${opts.sourceDateEpoch}`,
      '-C',
      layout,
      MANIFEST,
      'build',
      'logs',
    ]);
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new KilnError(`cannot write the bundle ${out}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseManifest(text: string, where: string): BundleManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new KilnError(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  if (
    !isObject(m) ||
    m.format !== BUNDLE_FORMAT ||
    typeof m.cell !== 'string' ||
    !isObject(m.product) ||
    typeof m.serial !== 'string' ||
    typeof m.inputDigest !== 'string' ||
    typeof m.keep !== 'number' ||
    typeof m.catalogKeep !== 'number' ||
    typeof m.graceMs !== 'number'
  )
    throw new KilnError(`${where}: not a ${BUNDLE_FORMAT} manifest`);
  const manifest = m as unknown as BundleManifest;
  checkProduct(manifest.product, where);
  checkSerial(manifest.serial, where);
  return manifest;
}

/** A bundle unpacked and checked, ready to be renamed into the tree. */
export interface VerifiedBundle {
  file: string;
  manifest: BundleManifest;
  record: BuildRecord;
  /** The unpacked `build/` directory (inside the tree's filesystem). */
  buildDir: string;
  /** The record changed (a fingerprint filled in): write it before publishing. */
  rewriteRecord: boolean;
}

/**
 * Unpacks a bundle with the safe unpacker of the source stage (no name
 * leaves the directory, no write through a symlink) into `dir`, then checks
 * its layout, manifest, record and every sum. Throws KilnError naming what
 * is wrong.
 */
export async function unpackAndVerify(file: string, dir: string, sink: EventSink): Promise<VerifiedBundle> {
  try {
    await unpackArchive(file, dir, { limits: { devices: false } });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES')
      throw new KilnError(`cannot read the bundle (${code === 'ENOENT' ? 'no such file' : code})`, { cause: e });
    throw new KilnError(`not a safe bundle: ${isKilnError(e) ? e.message : String(e)}`, { cause: e });
  }
  const top = (await readdir(dir, { withFileTypes: true })).map((e) => e);
  for (const e of top) {
    const ok = (e.name === MANIFEST && e.isFile()) || ((e.name === 'build' || e.name === 'logs') && e.isDirectory());
    if (!ok) throw new KilnError(`unexpected member '${e.name}' (a bundle holds ${MANIFEST}, build/ and logs/)`);
  }
  const manifestText = await readFile(join(dir, MANIFEST), 'utf8').catch(() => {
    throw new KilnError(`no ${MANIFEST}: not a kiln bundle`);
  });
  const manifest = parseManifest(manifestText, MANIFEST);
  const buildDir = join(dir, 'build');
  const members = await readdir(buildDir, { withFileTypes: true }).catch(() => {
    throw new KilnError('no build/ directory');
  });
  for (const e of members)
    if (!e.isFile()) throw new KilnError(`build/${e.name}: not a regular file; a build directory holds only files`);
  const recordText = await readFile(join(buildDir, 'build.json'), 'utf8').catch(() => {
    throw new KilnError('no build/build.json');
  });
  const record = parseBuildRecord(recordText, 'build/build.json');
  if (buildRelDir(record) !== buildRelDir(manifest) || record.inputDigest !== manifest.inputDigest)
    throw new KilnError(`build/build.json names ${buildRelDir(record)}, ${MANIFEST} ${buildRelDir(manifest)}`);
  const sums = parseSha256Sums(
    await readFile(join(buildDir, 'SHA256SUMS'), 'utf8').catch(() => {
      throw new KilnError('no build/SHA256SUMS');
    }),
    'build/SHA256SUMS',
  );
  const listed = new Set(['build.json', 'SHA256SUMS', ...sums.keys(), ...record.artifacts.map((a) => a.name)]);
  for (const e of members)
    if (!listed.has(e.name)) throw new KilnError(`build/${e.name}: in neither SHA256SUMS nor build.json`);
  const verified = await verifyStagedBuild(buildDir, record, sink).catch((e: unknown) => {
    // verifyStagedBuild names the file by its unpack path; the bundle is what the user knows.
    throw new KilnError(isKilnError(e) ? e.message.split(`${dir}/`).join('') : String(e), { cause: e });
  });
  const rewriteRecord = JSON.stringify(verified.fingerprints) !== JSON.stringify(record.fingerprints);
  return { file, manifest, record: verified, buildDir, rewriteRecord };
}

export type BundleOutcome =
  | { bundle: string; status: 'published'; dir: string; serial: string }
  | { bundle: string; status: 'unchanged'; reason: string; serial: string }
  | { bundle: string; status: 'refused'; reason: string };

export interface PublishBundlesOptions {
  tree: string;
  bundles: string[];
  /** Retention for every product, overriding what the bundles carry from their catalog. */
  keep?: number | undefined;
  graceMs?: number | undefined;
  sink?: EventSink | undefined;
}

/**
 * `kiln publish`: verifies every bundle (outside the lock, in parallel with
 * other publishers), then under the tree lock renames each good one into
 * its place, regenerates the indexes once and applies retention. A bundle
 * that fails is refused alone and named; a bundle whose build (or inputs) is
 * already published is a no-op; a bundle older than what is published is
 * refused as stale.
 */
export async function publishBundles(opts: PublishBundlesOptions): Promise<BundleOutcome[]> {
  const sink = opts.sink ?? nullSink;
  const tree = resolve(opts.tree);
  const incoming = join(stateDir(tree), 'incoming');
  await mkdir(incoming, { recursive: true });
  for (const stale of await sweepStaleWorkDirs(incoming, 'bundle-'))
    log(sink, 'warn', `removed what a killed publisher left: ${stale}`);
  const outcomes: BundleOutcome[] = [];
  const work: string[] = [];
  const verified: VerifiedBundle[] = [];
  try {
    for (const file of opts.bundles) {
      const dir = await makeOwnedWorkDir(incoming, 'bundle-');
      work.push(dir);
      const content = join(dir, 'content');
      await mkdir(content);
      try {
        verified.push(await unpackAndVerify(resolve(file), content, sink));
        log(sink, 'info', `${file}: verified`);
      } catch (e) {
        const reason = isKilnError(e) ? e.message : String(e);
        outcomes.push({ bundle: file, status: 'refused', reason });
        log(sink, 'warn', `${file}: refused: ${reason}`);
      }
    }
    // Oldest serial first, so two bundles of one product publish in order.
    verified.sort((a, b) => compareSerials(a.record.serial, b.record.serial));
    const published = await withTreeLock(tree, sink, async () => {
      const pending = new Set((await readPruneState(tree)).pending.map((p) => p.path));
      const scanned = await scanTree(tree, { exclude: pending, sink: nullSink });
      const newest = new Map([...scanned].map(([k, builds]) => [k, builds[0]!.record]));
      const done: VerifiedBundle[] = [];
      const unchanged: VerifiedBundle[] = [];
      for (const v of verified) {
        const outcome = await publishOne(tree, v, newest, sink);
        outcomes.push(outcome);
        if (outcome.status === 'published') {
          newest.set(productKey(v.record.product), v.record);
          done.push(v);
        } else if (outcome.status === 'unchanged') unchanged.push(v);
      }
      // A publisher killed after moving its builds into place but before
      // writing the indexes leaves builds that are in the tree and not yet
      // served: the next publish of the same bundles must index them.
      const unindexed = await notIndexed(tree, unchanged);
      if (unindexed.length > 0) log(sink, 'info', `indexing ${unindexed.length} builds a killed publisher left`);
      if (done.length > 0 || unindexed.length > 0) {
        // Retention regenerates the indexes: once for the whole publish.
        const keepOf = new Map([...done, ...unindexed].map((v) => [productKey(v.record.product), v.manifest.keep]));
        await pruneTreeLocked(
          tree,
          {
            keep: opts.keep ?? (done[0] ?? unindexed[0]!).manifest.catalogKeep,
            graceMs: opts.graceMs ?? (done[0] ?? unindexed[0]!).manifest.graceMs,
            keepFor: (p) => (opts.keep !== undefined ? undefined : keepOf.get(productKey(p))),
          },
          sink,
        );
      }
      return done.length;
    });
    log(sink, 'info', `${published} of ${opts.bundles.length} bundles published into ${tree}`);
  } finally {
    for (const dir of work) await rm(dir, { recursive: true, force: true });
  }
  const order = new Map(opts.bundles.map((b, i) => [b, i]));
  return outcomes.sort((a, b) => (order.get(a.bundle) ?? 0) - (order.get(b.bundle) ?? 0));
}

/** The bundles whose build directory the simplestreams index does not name. */
async function notIndexed(tree: string, bundles: VerifiedBundle[]): Promise<VerifiedBundle[]> {
  if (bundles.length === 0) return [];
  const index = await readFile(join(tree, 'streams/v1/images.json'), 'utf8').catch(() => '');
  return bundles.filter((v) => {
    const p = v.record.product;
    const rel = `images/${p.distribution}/${p.release}/${p.arch}/${p.variant}/${v.record.serial}`;
    // Only this very build in the tree counts (not the same inputs under another serial).
    return existsSync(join(tree, rel, 'build.json')) && !index.includes(`"${rel}/`);
  });
}

function sameArtifacts(a: BuildRecord, b: BuildRecord): boolean {
  const key = (r: BuildRecord): string =>
    r.artifacts
      .map((x) => `${x.name}:${x.sha256}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}

/** One verified bundle into the tree; the caller holds the lock. */
async function publishOne(
  tree: string,
  v: VerifiedBundle,
  newest: Map<string, BuildRecord>,
  sink: EventSink,
): Promise<BundleOutcome> {
  const rel = buildRelDir(v.record);
  const finalDir = join(tree, rel);
  const current = newest.get(productKey(v.record.product));
  const existing = await readFile(join(finalDir, 'build.json'), 'utf8').then(
    (t) => parseBuildRecord(t, join(rel, 'build.json')),
    () => undefined,
  );
  if (existing) {
    if (existing.inputDigest === v.record.inputDigest && sameArtifacts(existing, v.record))
      return {
        bundle: v.file,
        status: 'unchanged',
        reason: `${rel} is this build, already published`,
        serial: v.record.serial,
      };
    return {
      bundle: v.file,
      status: 'refused',
      reason: `${rel} is already published with other content; a published build is never replaced`,
    };
  }
  if (current && current.inputDigest === v.record.inputDigest)
    return {
      bundle: v.file,
      status: 'unchanged',
      reason: `same inputs as the published build ${current.serial}; not published again`,
      serial: current.serial,
    };
  if (current && compareSerials(current.serial, v.record.serial) > 0)
    return {
      bundle: v.file,
      status: 'refused',
      reason: `stale: its inputs (serial ${v.record.serial}, input digest ${v.record.inputDigest?.slice(0, 12)}) are older than the published build ${current.serial} (input digest ${current.inputDigest?.slice(0, 12) ?? 'unknown'}); rebuild the cell`,
    };
  const productDir = dirname(finalDir);
  await mkdir(productDir, { recursive: true });
  await removeStaging(productDir, sink);
  const hidden = join(productDir, `.${v.record.serial}`);
  await rename(v.buildDir, hidden);
  if (v.rewriteRecord) await writeFileAtomic(join(hidden, 'build.json'), `${JSON.stringify(v.record, null, 2)}\n`);
  await fsyncDir(hidden);
  await rename(hidden, finalDir);
  await fsyncDir(productDir);
  log(sink, 'info', `published ${rel} from ${v.file}`);
  return { bundle: v.file, status: 'published', dir: finalDir, serial: v.record.serial };
}
