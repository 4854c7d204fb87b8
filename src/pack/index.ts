import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../util/errors.js';
import { log } from '../util/events.js';
import type { ArtifactRecord } from '../pipeline/record.js';
import { compressorCommand } from './compressors.js';
import { hashFileInto } from './hash.js';
import { incusMetadataMembers, metadataYaml } from './incus-metadata.js';
import { hasUserConfig, lxcMetaMembers } from './lxc-meta.js';
import { compressedFileOutput, squashfsOutput } from './outputs.js';
import { writeRootTar, type TarTarget } from './root-tar.js';
import { tarball, tarMembers } from './small-tar.js';
import { deviceExcludes, walkRoot, type RootEntry } from './walk.js';
import { readXattrs } from './xattrs.js';
import { lintRoot } from './lint.js';
import { writeExtras } from './extras.js';
import { Signer } from './sign.js';
import { LOCK_FILE } from '../plan/lock.js';
import type { LxcRootDelta, PackInput, PackResult, SquashfsCompression } from './types.js';

export type { PackInput, PackResult } from './types.js';

const SQUASHFS_COMPRESSORS: SquashfsCompression[] = ['xz', 'zstd', 'gzip', 'lz4'];

async function checkInput(input: PackInput): Promise<void> {
  const root = await stat(input.rootfs).catch(() => null);
  if (root === null || !root.isDirectory()) throw new KilnError(`rootfs ${input.rootfs} is not a directory`);
  const out = await stat(input.outDir).catch(() => null);
  if (out === null || !out.isDirectory()) throw new KilnError(`output directory ${input.outDir} does not exist`);
  if (input.formats.length === 0) throw new KilnError('no output format asked for: use lxc, incus and/or unified');
  for (const f of input.formats) {
    if (!['lxc', 'incus', 'unified'].includes(f)) {
      throw new KilnError(`output format "${String(f)}" is not known: use lxc, incus, unified`);
    }
  }
  if (!SQUASHFS_COMPRESSORS.includes(input.squashfsCompression)) {
    throw new KilnError(
      `squashfs compression "${String(input.squashfsCompression)}" is not known: use ${SQUASHFS_COMPRESSORS.join(', ')}`,
    );
  }
  compressorCommand(input.compression);
  compressorCommand({ method: 'xz' });
}

/** Every file packImage may write, so that it never overwrites (and on failure never deletes) someone else's. */
function plannedNames(input: PackInput, ext: string): string[] {
  const f = new Set(input.formats);
  const names = ['image.yaml', 'sbom.spdx.json', 'SHA256SUMS', ...(input.lock ? [LOCK_FILE] : [])];
  if (f.has('lxc')) names.push(`rootfs${ext}`, 'meta.tar.xz');
  if (f.has('incus')) names.push(`incus${ext}`, 'rootfs.squashfs');
  if (f.has('unified')) names.push(`${input.plan.definition.image.name}${ext}`);
  return input.sign === undefined ? names : [...names, ...names.map((n) => `${n}.asc`)];
}

/**
 * Packs a customized root into the artifacts of every asked format
 * (definitions-spec section 8, image-server-spec 1.6, 1.7, 2.4, 2.5) with
 * one read of the root: its tar stream feeds rootfs.tar.xz, rootfs.squashfs
 * and the unified tarball at the same time. Equal inputs give byte-identical
 * artifacts. On failure nothing it wrote is left in `outDir`.
 */
export async function packImage(input: PackInput): Promise<PackResult> {
  input.signal?.throwIfAborted();
  await checkInput(input);
  const formats = new Set(input.formats);
  const def = input.plan.definition;
  const sde = input.sourceDateEpoch;
  const ext = compressorCommand(input.compression).extension;
  for (const name of plannedNames(input, ext)) {
    if (
      await stat(join(input.outDir, name)).then(
        () => true,
        () => false,
      )
    ) {
      throw new KilnError(
        `${join(input.outDir, name)} already exists: kiln packs into a directory without earlier artifacts`,
      );
    }
  }
  const timings: Record<string, number> = {};
  const created: string[] = [];
  const artifacts: ArtifactRecord[] = [];
  const fingerprints: PackResult['fingerprints'] = {};
  const abort = new AbortController();
  const onAbort = () => abort.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onAbort);
  const signal = abort.signal;
  const pending: Promise<unknown>[] = [];
  const time = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = Math.round(performance.now() - t0);
    }
  };
  const out = (name: string) => {
    const p = join(input.outDir, name);
    created.push(p);
    return p;
  };

  if (formats.has('lxc') && input.compression.method !== 'xz') {
    log(
      input.sink,
      'warn',
      `rootfs${ext} is ${input.compression.method === 'none' ? 'not compressed' : `${input.compression.method}-compressed`}: LXC's download and local templates only unpack xz rootfs tarballs`,
    );
  }

  let signer: Signer | null = null;
  try {
    signer = input.sign === undefined ? null : await Signer.open(input.sign, signal);
    const sockets: string[] = [];
    const [xattrs, entries] = await time('pack.walk', () =>
      Promise.all([
        readXattrs(input.rootfs, input.sink, signal),
        walkRoot(input.rootfs, sde, input.sink, signal, sockets),
      ]),
    );

    const lint = await time('pack.lint', () => lintRoot(input.rootfs, entries, sockets));
    for (const w of lint.warnings) log(input.sink, 'warn', `image root: ${w}`);

    // The metadata tarball comes first: the combined fingerprints hash its
    // bytes before the rootfs bytes, which are hashed while being written.
    const yamlText = metadataYaml(def, input.metadata, input.creationDate, input.expiryDate);
    const incusMembers = incusMetadataMembers(yamlText, input.metadata);
    let incusBytes: Buffer | null = null;
    if (formats.has('incus')) {
      await time('pack.incus-meta', async () => {
        const name = `incus${ext}`;
        const o = compressedFileOutput(out(name), input.compression, { signal });
        o.input.end(tarball([...incusMembers.head, ...incusMembers.templates], sde));
        const r = await o.finished;
        artifacts.push({ name, size: r.size, sha256: r.sha256, role: 'incus.meta' });
      });
      incusBytes = await readFile(join(input.outDir, `incus${ext}`));
    }

    const delta = formats.has('lxc') ? lxcDelta(input.metadata.lxcOnly, entries, sde) : null;
    const targets: TarTarget[] = [];
    const finishing: Array<Promise<void>> = [];
    const rootTarget: TarTarget = { prefix: './', outputs: [] };
    if (formats.has('lxc')) {
      const name = `rootfs${ext}`;
      const combined = incusBytes ? createHash('sha256').update(incusBytes) : null;
      const o = compressedFileOutput(out(name), input.compression, { signal, extraHashes: combined ? [combined] : [] });
      if (delta) targets.push({ prefix: './', outputs: [o.input], ...delta });
      else rootTarget.outputs.push(o.input);
      const f = o.finished.then((r) => {
        artifacts.push({ name, size: r.size, sha256: r.sha256, role: 'lxc.rootfs' });
        if (combined) {
          fingerprints.combined_rootxz_sha256 = combined.digest('hex');
          // lxc-ci writes both; clients fall back to combined_sha256 for root.tar.xz.
          fingerprints.combined_sha256 = fingerprints.combined_rootxz_sha256;
        }
      });
      pending.push(f);
      finishing.push(f);
    }
    if (formats.has('incus')) {
      const name = 'rootfs.squashfs';
      const path = out(name);
      const o = squashfsOutput(path, {
        compression: input.squashfsCompression,
        mtime: sde,
        threads: availableParallelism(),
        signal,
      });
      rootTarget.outputs.push(o.input);
      const f = o.finished.then(async () => {
        const combined = createHash('sha256').update(incusBytes as Buffer);
        const own = createHash('sha256');
        const size = await hashFileInto(path, [own, combined]);
        artifacts.push({ name, size, sha256: own.digest('hex'), role: 'squashfs' });
        fingerprints.combined_squashfs_sha256 = combined.digest('hex');
      });
      pending.push(f);
      finishing.push(f);
    }
    if (rootTarget.outputs.length > 0) targets.push(rootTarget);
    if (formats.has('unified')) {
      const name = `${def.image.name}${ext}`;
      if (name.includes('/') || def.image.name === '' || def.image.name.startsWith('.')) {
        throw new KilnError(`image.name "${def.image.name}" cannot be a file name for the unified tarball`);
      }
      const o = compressedFileOutput(out(name), input.compression, { signal });
      targets.push({
        prefix: 'rootfs/',
        outputs: [o.input],
        before: tarMembers(incusMembers.head, sde),
        after: tarMembers(incusMembers.templates, sde),
      });
      const f = o.finished.then((r) => {
        artifacts.push({ name, size: r.size, sha256: r.sha256, role: 'unified' });
      });
      pending.push(f);
      finishing.push(f);
    }

    if (targets.length > 0) {
      await time('pack.rootfs', async () => {
        try {
          await writeRootTar(input.rootfs, entries, xattrs, targets, { sink: input.sink, task: 'pack', signal });
        } catch (e) {
          // The tools' own failure explains more than the broken pipe.
          abort.abort(e);
          const failed = (await Promise.allSettled(finishing)).find((r) => r.status === 'rejected');
          throw failed ? failed.reason : e;
        }
        await Promise.all(finishing);
      });
    }

    if (formats.has('lxc')) {
      await time('pack.lxc-meta', async () => {
        const members = lxcMetaMembers({
          plan: input.plan,
          templates: input.metadata.lxcTemplates,
          expiryDate: input.expiryDate,
          excludesUser: deviceExcludes(entries),
          sink: input.sink,
        });
        const name = 'meta.tar.xz';
        const o = compressedFileOutput(out(name), { method: 'xz' }, { signal });
        o.input.end(tarball(members, sde));
        const r = await o.finished;
        artifacts.push({ name, size: r.size, sha256: r.sha256, role: 'lxc.meta' });
      });
    }

    const extra = await writeExtras({ input, entries, artifacts, out, time, signal, signer });
    artifacts.push(...extra);
    artifacts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const a of artifacts)
      input.sink.emit({ type: 'artifact', path: join(input.outDir, a.name), size: a.size, sha256: a.sha256 });
    return {
      artifacts,
      userConfig: formats.has('lxc') && hasUserConfig(input.plan),
      fingerprints,
      timings,
      lint,
    };
  } catch (e) {
    abort.abort(e);
    await Promise.allSettled(pending);
    await Promise.all(created.map((p) => rm(p, { force: true, recursive: true })));
    if (input.signal?.aborted) throw input.signal.reason;
    throw e;
  } finally {
    await signer?.close();
    input.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The LXC tarball's own target when the generators left it a difference:
 * skipped paths (and any root entry an added file replaces), added files
 * after the root's entries, owned by root, with the clamped mtime.
 */
function lxcDelta(
  delta: LxcRootDelta | undefined,
  entries: RootEntry[],
  mtime: number,
): Pick<TarTarget, 'skip' | 'after'> | null {
  if (!delta || (delta.remove.length === 0 && delta.add.length === 0)) return null;
  const skip = new Set([...delta.remove, ...delta.add.map((f) => f.path)]);
  // A later hard link names its inode by the first path: that one must stay.
  for (const e of entries) {
    if (e.type === 'link' && skip.has(e.linkname as string)) {
      throw new KilnError(
        `/${e.linkname} cannot differ between the LXC and Incus images: /${e.path} is a hard link to it`,
      );
    }
  }
  return {
    skip,
    after: tarMembers(
      delta.add.map((f) => ({ name: `./${f.path}`, content: f.content, mode: f.mode })),
      mtime,
    ),
  };
}
