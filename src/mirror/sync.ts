import { copyFile, link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import PQueue from 'p-queue';
import type { BuildRecord } from '../pipeline/record.js';
import { Signer } from '../pack/sign.js';
import { pruneTree } from '../publish/index.js';
import { buildRelDir, productKey } from '../publish/names.js';
import { regenerateIndexesLocked, removeLeftovers } from '../publish/regenerate.js';
import { stateDir, withTreeLock } from '../publish/tree-lock.js';
import { scanTree } from '../publish/tree-scan.js';
import { verifyStagedBuild } from '../publish/verify.js';
import { fsyncDir } from '../publish/atomic-write.js';
import { sha256File } from '../publish/sha256.js';
import { log, nullSink, type EventSink } from '../util/events.js';
import { pathExists } from '../util/fs.js';
import { humanSize } from '../util/size.js';
import { MirrorError } from './errors.js';
import { Fetcher } from './fetch.js';
import { verifySignature } from './gpgv.js';
import { mirroredRecord } from './record.js';
import { selectVersions, type ImageType } from './select.js';
import {
  mergeIndexes,
  parseLxcIndex,
  parseProducts,
  parseSums,
  productFiles,
  type UpstreamVersion,
} from './upstream.js';

export interface MirrorOptions {
  upstream: string;
  tree: string;
  /** `dist:release:arch:variant` globs; none means everything. */
  only?: string[];
  type?: ImageType | undefined;
  /** Versions kept per mirrored product (newest first); none: every version upstream lists, no pruning. */
  keep?: number | undefined;
  graceMs?: number;
  jobs?: number;
  dryRun?: boolean | undefined;
  /** Keyring (gpg --export) the LXC artifacts' `.asc` must verify against. */
  keyring?: string | undefined;
  /** Sign the mirrored LXC artifacts with this key (upstream's signatures kept as `*.upstream.asc`). */
  sign?: string | undefined;
  /** Bytes a second over all transfers. */
  limitRate?: number | undefined;
  sink?: EventSink;
  now?: Date;
}

export interface MirrorResult {
  upstream: string;
  /** Versions the filters select. */
  selected: number;
  /** Of those, already in the mirror. */
  present: number;
  /** `images/d/r/a/v/serial` published by this run (or that would be, with dryRun). */
  published: string[];
  /** Body bytes received (indexes included) and of those, the indexes'. */
  bytesFetched: number;
  indexBytes: number;
  /** Files taken from the mirror instead of the network (same sha256). */
  reused: number;
  pruned: string[];
  deleted: string[];
}

interface WantedFile {
  name: string;
  sha256: string;
  size: number;
}

const MiB = 1 << 20;

function versionId(v: UpstreamVersion): string {
  return `${v.key} ${v.serial}`;
}

/** The files one version needs: its simplestreams items and, for the LXC index, rootfs and meta from SHA256SUMS. */
async function wantedFiles(f: Fetcher, v: UpstreamVersion): Promise<WantedFile[]> {
  const id = versionId(v);
  const out = new Map<string, WantedFile>();
  for (const it of Object.values(v.items)) out.set(it.name, { name: it.name, sha256: it.sha256, size: it.size });
  if (!v.lxc) return [...out.values()];
  const sumsText = await f.text(`${id} SHA256SUMS`, `${v.dir}/SHA256SUMS`, MiB, true);
  const sums = sumsText === undefined ? new Map<string, string>() : parseSums(sumsText, `${id} SHA256SUMS`);
  for (const [name, sha] of sums) {
    const listed = out.get(name);
    if (listed && listed.sha256 !== sha)
      throw new MirrorError(`${id} ${name}: SHA256SUMS says ${sha}, simplestreams ${listed.sha256}; refused`);
  }
  for (const name of ['rootfs.tar.xz', 'meta.tar.xz']) {
    if (out.has(name)) continue;
    const sha = sums.get(name);
    if (!sha)
      throw new MirrorError(
        `${id} ${name}: the LXC index lists it but neither simplestreams nor ${v.dir}/SHA256SUMS gives its sha256; refused`,
      );
    // SHA256SUMS has no sizes: the cap is a bound on what a hostile server can send, the sha256 the check.
    out.set(name, { name, sha256: sha, size: -1 });
  }
  return [...out.values()];
}

/**
 * Mirrors an upstream image server (LXC index and simplestreams) into a
 * kiln tree. Files are downloaded into `.kiln/mirror/objects/<sha256>`
 * (verified, resumable, shared by every version that needs the same bytes),
 * each version is assembled from hard links in `.kiln/mirror/stage/` and
 * published as a build, under the tree lock, only when all its files are
 * verified: the indexes never name a file that is not complete on disk.
 */
export async function mirror(opts: MirrorOptions): Promise<MirrorResult> {
  const sink = opts.sink ?? nullSink;
  const now = opts.now ?? new Date();
  let base: URL;
  try {
    base = new URL(opts.upstream.endsWith('/') ? opts.upstream : `${opts.upstream}/`);
  } catch {
    throw new MirrorError(`${opts.upstream}: not a URL; give the upstream's base, such as https://images.example.org/`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new MirrorError(`${opts.upstream}: only http and https upstreams are supported`);
  if (base.search || base.hash) throw new MirrorError(`${opts.upstream}: the base URL takes no query or fragment`);
  const upstream = base.href;
  const tree = resolve(opts.tree);
  const f = new Fetcher(base, opts.limitRate);

  // The indexes: simplestreams first, then the LXC index.
  const index = await f.text('streams/v1/index.json', 'streams/v1/index.json', 16 * MiB, true);
  let versions: UpstreamVersion[] = [];
  for (const p of index === undefined ? [] : productFiles(index))
    versions.push(...parseProducts((await f.text(p, p, 512 * MiB, false))!, p));
  const system = await f.text('meta/1.0/index-system', 'meta/1.0/index-system', 64 * MiB, true);
  const user = await f.text('meta/1.0/index-user', 'meta/1.0/index-user', 64 * MiB, true);
  if (index === undefined && system === undefined)
    throw new MirrorError(
      `${upstream}: has neither streams/v1/index.json nor meta/1.0/index-system; not an image server`,
    );
  versions = mergeIndexes(
    versions,
    system === undefined ? [] : parseLxcIndex(system, 'meta/1.0/index-system'),
    user === undefined ? [] : parseLxcIndex(user, 'meta/1.0/index-user'),
  );
  const indexBytes = f.bytes;
  const selected = selectVersions(versions, {
    only: opts.only ?? [],
    type: opts.type,
    keep: opts.keep ?? Number.MAX_SAFE_INTEGER,
  });
  if (selected.length === 0)
    log(sink, 'warn', `${upstream}: no version matches ${(opts.only ?? []).join(' ') || 'the filters'}`);

  const todo: UpstreamVersion[] = [];
  for (const v of selected) if (!(await pathExists(join(tree, buildRelDir(v))))) todo.push(v);
  const result: MirrorResult = {
    upstream,
    selected: selected.length,
    present: selected.length - todo.length,
    published: [],
    bytesFetched: 0,
    indexBytes,
    reused: 0,
    pruned: [],
    deleted: [],
  };

  // What the tree already holds, by sha256: never fetched again.
  const local = new Map<string, string>();
  if (await pathExists(tree)) {
    for (const builds of (await scanTree(tree, { sink: nullSink })).values())
      for (const b of builds) for (const a of b.record.artifacts) local.set(a.sha256, join(b.dir, a.name));
  }

  if (opts.dryRun) {
    for (const v of todo) {
      const bytes = Object.values(v.items)
        .filter((it, i, all) => all.findIndex((x) => x.name === it.name) === i && !local.has(it.sha256))
        .reduce((n, it) => n + it.size, 0);
      log(sink, 'info', `would mirror ${buildRelDir(v)} (${humanSize(bytes)} of simplestreams items to fetch)`);
      result.published.push(buildRelDir(v));
    }
    result.bytesFetched = f.bytes;
    return result;
  }

  const work = join(stateDir(tree), 'mirror');
  const objects = join(work, 'objects');
  const stage = join(work, 'stage');
  await rm(stage, { recursive: true, force: true });
  await mkdir(objects, { recursive: true });
  await mkdir(stage, { recursive: true });
  const signer = opts.sign ? await Signer.open(opts.sign) : undefined;
  const queue = new PQueue({ concurrency: Math.max(1, opts.jobs ?? 4) });
  const inFlight = new Map<string, Promise<string>>();
  let total = 0;
  let done = 0;

  /** The verified object for a sha256: from the tree, a previous run, or the network. */
  const obtain = (what: string, rel: string, want: WantedFile): Promise<string> => {
    const obj = join(objects, want.sha256);
    let p = inFlight.get(want.sha256);
    if (p) return p;
    p = (async () => {
      if (await pathExists(obj)) {
        result.reused++;
        return obj;
      }
      const have = local.get(want.sha256);
      if (
        have &&
        (want.size < 0 ||
          (await stat(have).then(
            (s) => s.size === want.size,
            () => false,
          )))
      ) {
        await link(have, obj).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'EXDEV') return copyFile(have, obj);
          if (e.code !== 'EEXIST') throw e;
        });
        result.reused++;
        return obj;
      }
      total += Math.max(0, want.size);
      await queue.add(() =>
        f.file(what, rel, obj, { sha256: want.sha256, size: want.size < 0 ? undefined : want.size }),
      );
      done += Math.max(0, want.size);
      sink.emit({ type: 'progress', task: 'mirror', done, total, unit: 'bytes' });
      return obj;
    })();
    inFlight.set(want.sha256, p);
    return p;
  };

  const staged: { v: UpstreamVersion; dir: string; record: BuildRecord; objects: string[] }[] = [];
  const failures: string[] = [];
  await Promise.all(
    todo.map(async (v) => {
      const id = versionId(v);
      const dir = join(stage, `${v.key.replaceAll(':', '_')}_${v.serial.replaceAll(':', '_')}`);
      try {
        const wanted = await wantedFiles(f, v);
        await mkdir(dir);
        // Settled, not Promise.all: a failed file must not leave others still linking into dir while it is removed.
        const settled = await Promise.allSettled(
          wanted.map(async (w) => {
            const obj = await obtain(`${id} ${w.name}`, `${v.dir}/${w.name}`, w);
            await link(obj, join(dir, w.name));
            return obj;
          }),
        );
        const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
        if (failed) throw failed.reason;
        const used = settled.map((x) => (x as PromiseFulfilledResult<string>).value);
        if (v.lxc && opts.keyring) {
          for (const name of ['rootfs.tar.xz', 'meta.tar.xz']) {
            const sig = await f.text(`${id} ${name}.asc`, `${v.dir}/${name}.asc`, 64 * 1024, true);
            if (sig === undefined)
              throw new MirrorError(`${id} ${name}.asc: missing upstream; --keyring needs every LXC artifact signed`);
            await writeFile(join(dir, `${name}.asc`), sig);
            await verifySignature(opts.keyring, join(dir, `${name}.asc`), join(dir, name), `${id} ${name}`);
          }
        }
        if (v.lxc && signer) {
          for (const name of ['rootfs.tar.xz', 'meta.tar.xz']) {
            if (await pathExists(join(dir, `${name}.asc`)))
              await rename(join(dir, `${name}.asc`), join(dir, `${name}.upstream.asc`));
            await signer.sign(join(dir, name), join(dir, `${name}.asc`));
          }
        }
        const files: WantedFile[] = [];
        const sizes = new Map(wanted.map((w) => [w.name, w]));
        for (const name of (await readdir(dir)).sort()) {
          const w = sizes.get(name);
          const size = (await stat(join(dir, name))).size;
          files.push({ name, size, sha256: w ? w.sha256 : await sha256File(join(dir, name)) });
        }
        await writeFile(join(dir, 'SHA256SUMS'), files.map((x) => `${x.sha256}  ${x.name}\n`).join(''));
        const record = mirroredRecord(upstream, v, files, now);
        await writeFile(join(dir, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
        staged.push({ v, dir, record, objects: used });
      } catch (e) {
        if (!(e instanceof MirrorError)) throw e;
        failures.push(e.message);
        log(sink, 'error', e.message);
        await rm(dir, { recursive: true, force: true });
      }
    }),
  );

  if (staged.length > 0) {
    await withTreeLock(tree, sink, async () => {
      await removeLeftovers(tree, sink);
      for (const s of staged) {
        const rel = buildRelDir(s.record);
        const final = join(tree, rel);
        if (await pathExists(final)) continue;
        await mkdir(dirname(final), { recursive: true });
        const hidden = join(dirname(final), `.${s.record.serial}`);
        await rename(s.dir, hidden);
        try {
          const checked = await verifyStagedBuild(hidden, s.record, sink);
          for (const k of Object.keys(s.record.fingerprints) as (keyof BuildRecord['fingerprints'])[])
            if (checked.fingerprints[k] !== s.record.fingerprints[k])
              throw new MirrorError(`${versionId(s.v)}: ${k} does not match the files; refused`);
          await rename(hidden, final);
        } catch (e) {
          await rm(hidden, { recursive: true, force: true });
          const msg = `${versionId(s.v)}: ${(e as Error).message}`;
          failures.push(msg);
          log(sink, 'error', msg);
          continue;
        }
        await fsyncDir(dirname(final));
        result.published.push(rel);
        log(sink, 'info', `mirrored ${rel}`);
      }
      // Nothing new: the indexes stay byte for byte the ones served.
      if (result.published.length > 0) await regenerateIndexesLocked(tree, sink, now);
    });
    // The objects now live on as the builds' files; those of refused versions stay for a rerun.
    const published = new Set(result.published);
    for (const s of staged)
      if (published.has(buildRelDir(s.record))) for (const o of s.objects) await rm(o, { force: true });
  }

  if (opts.keep !== undefined && !opts.dryRun && (await pathExists(tree))) {
    const mirrored = new Set(selected.map((v) => v.key));
    const r = await pruneTree({
      tree,
      keep: opts.keep,
      keepFor: (p) => (mirrored.has(productKey(p)) ? undefined : Number.MAX_SAFE_INTEGER),
      graceMs: opts.graceMs ?? 6 * 3600_000,
      sink,
      now,
    });
    result.pruned = r.pruned;
    result.deleted = r.deleted;
  }
  result.bytesFetched = f.bytes;
  if (failures.length > 0)
    throw new MirrorError(
      failures.length === 1 ? failures[0]! : `${failures.length} versions refused; first: ${failures[0]}`,
      { details: failures.slice(1) },
    );
  return result;
}
