import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BuildRecord } from '../pipeline/record.js';
import { KilnError } from '../util/errors.js';
import { log, nullSink, type EventSink } from '../util/events.js';
import { fsyncDir, writeFileAtomic } from './atomic-write.js';
import { moveOrCopyDir } from './move-build.js';
import { buildRelDir, checkProduct, checkSerial } from './names.js';
import { regenerateIndexesLocked, removeStaging } from './regenerate.js';
import { withTreeLock } from './tree-lock.js';
import { parseBuildRecord } from './tree-scan.js';
import { verifyStagedBuild } from './verify.js';
import { pathExists } from '../util/fs.js';

export interface PublishOptions {
  /** Root of the image tree (created if missing). */
  tree: string;
  /** The build's output: artifacts, SHA256SUMS and (optionally) build.json. */
  stagingDir: string;
  record: BuildRecord;
  sink?: EventSink;
}

function sameFingerprints(a: BuildRecord, b: BuildRecord): boolean {
  const keys = new Set([...Object.keys(a.fingerprints), ...Object.keys(b.fingerprints)]) as Set<
    keyof BuildRecord['fingerprints']
  >;
  return [...keys].every((k) => a.fingerprints[k] === b.fingerprints[k]);
}

/**
 * Publishes one build: under the tree lock, the staging directory becomes a
 * hidden `.SERIAL` directory beside its final place, is checked against its
 * SHA256SUMS and record, and is renamed into
 * `images/<dist>/<release>/<arch>/<variant>/<serial>/`; then every index is
 * regenerated. A reader sees the build either not at all or complete. If a
 * check fails, the staging directory is left where it was.
 */
export async function publishBuild(opts: PublishOptions): Promise<{ dir: string }> {
  const sink = opts.sink ?? nullSink;
  const tree = resolve(opts.tree);
  const staging = resolve(opts.stagingDir);
  checkProduct(opts.record.product, 'build record');
  checkSerial(opts.record.serial, 'build record');
  const st = await stat(staging).catch(() => undefined);
  if (!st?.isDirectory()) throw new KilnError(`${staging}: the build's staging directory does not exist`);
  const ownRecordFile = join(staging, 'build.json');
  if (await pathExists(ownRecordFile)) {
    const onDisk = parseBuildRecord(await readFile(ownRecordFile, 'utf8'), ownRecordFile);
    if (buildRelDir(onDisk) !== buildRelDir(opts.record)) {
      throw new KilnError(
        `${ownRecordFile}: names ${buildRelDir(onDisk)}, but the build being published is ${buildRelDir(opts.record)}`,
      );
    }
  }
  await mkdir(tree, { recursive: true });
  const rel = buildRelDir(opts.record);
  const finalDir = join(tree, rel);
  const productDir = dirname(finalDir);
  const hidden = join(productDir, `.${opts.record.serial}`);

  return withTreeLock(tree, sink, async () => {
    if (await pathExists(finalDir)) {
      throw new KilnError(
        `${finalDir}: build ${opts.record.serial} is already published; a published build is never replaced, use a new serial`,
      );
    }
    await mkdir(productDir, { recursive: true });
    // Staging happens only under the lock, so hidden directories here belong to killed publishers.
    await removeStaging(productDir, sink);
    const copied = await moveOrCopyDir(staging, hidden);
    let record: BuildRecord;
    try {
      record = await verifyStagedBuild(hidden, opts.record, sink);
      // The build's own build.json stays as written unless it lacks the
      // record or a fingerprint computed here.
      const onDisk = await readFile(join(hidden, 'build.json'), 'utf8').then(
        (t) => parseBuildRecord(t, join(hidden, 'build.json')),
        () => undefined,
      );
      if (!onDisk || !sameFingerprints(onDisk, record))
        await writeFileAtomic(join(hidden, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
      await rename(hidden, finalDir);
    } catch (e) {
      if (copied) await rm(hidden, { recursive: true, force: true });
      else await rename(hidden, staging).catch(() => rm(hidden, { recursive: true, force: true }));
      throw e;
    }
    await fsyncDir(productDir);
    if (copied) await rm(staging, { recursive: true, force: true });
    log(sink, 'info', `published ${rel}`);
    await regenerateIndexesLocked(tree, sink);
    return { dir: finalDir };
  });
}
