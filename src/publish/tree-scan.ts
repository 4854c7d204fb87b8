import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildRecord } from '../pipeline/record.js';
import type { Delta } from './deltas.js';
import { KilnError } from '../util/errors.js';
import { log, type EventSink } from '../util/events.js';
import { buildRelDir, checkProduct, checkSerial, compareSerials, productKey } from './names.js';

/** A build directory in the tree, complete on disk. */
export interface PublishedBuild {
  record: BuildRecord;
  /** Absolute path of the build directory. */
  dir: string;
  /** `images/d/r/a/v/serial`, relative to the tree. */
  relDir: string;
  /** Squashfs deltas the tree holds for this build (src/publish/deltas.ts). */
  deltas?: Delta[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses build.json with the checks the indexes depend on (names that end up
 * in paths and index lines, artifact names that must stay inside the build
 * directory). Throws KilnError naming the file.
 */
export function parseBuildRecord(text: string, file: string): BuildRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new KilnError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(data) || !isObject(data.product) || typeof data.serial !== 'string' || !Array.isArray(data.artifacts)) {
    throw new KilnError(`${file}: not a kiln build record (needs product, serial and artifacts)`);
  }
  const record = data as unknown as BuildRecord;
  checkProduct(record.product, file);
  checkSerial(record.serial, file);
  for (const a of record.artifacts) {
    if (
      !isObject(a) ||
      typeof a.name !== 'string' ||
      // ':' because mirrored upstream deltas are named `delta-<serial>.vcdiff`.
      !/^[A-Za-z0-9][A-Za-z0-9_.:+-]*$/.test(a.name) ||
      typeof a.size !== 'number' ||
      typeof a.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(a.sha256)
    ) {
      throw new KilnError(`${file}: artifact ${JSON.stringify(a)} needs a plain file name, a size and a sha256`);
    }
  }
  if (!Array.isArray(record.aliases)) record.aliases = [];
  if (!isObject(record.fingerprints)) record.fingerprints = {};
  return record;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Every product directory (`images/d/r/a/v`) in the tree. */
export async function listProductDirs(tree: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(tree, 'images');
  for (const d of await listDirs(root))
    for (const r of await listDirs(join(root, d)))
      for (const a of await listDirs(join(root, d, r)))
        for (const v of await listDirs(join(root, d, r, a))) out.push(`images/${d}/${r}/${a}/${v}`);
  return out;
}

/** Every build directory path under images/, complete or not (hidden staging dirs excluded). */
export async function listBuildDirs(tree: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await listProductDirs(tree)) for (const s of await listDirs(join(tree, p))) out.push(`${p}/${s}`);
  return out;
}

/**
 * A build counts only when its record parses, sits at the path its product
 * and serial name, and every artifact it lists is there with its recorded
 * size (hashes were checked when it was published).
 */
export async function readCompleteBuild(
  tree: string,
  relDir: string,
  sink: EventSink,
): Promise<PublishedBuild | undefined> {
  const dir = join(tree, relDir);
  let text: string;
  try {
    text = await readFile(join(dir, 'build.json'), 'utf8');
  } catch {
    log(sink, 'warn', `${relDir}: no build.json, not indexed`);
    return undefined;
  }
  let record: BuildRecord;
  try {
    record = parseBuildRecord(text, join(relDir, 'build.json'));
  } catch (e) {
    log(sink, 'warn', `${(e as Error).message}; not indexed`);
    return undefined;
  }
  if (buildRelDir(record) !== relDir) {
    log(sink, 'warn', `${relDir}: build.json names ${buildRelDir(record)}, not indexed`);
    return undefined;
  }
  try {
    await stat(join(dir, 'SHA256SUMS'));
    for (const a of record.artifacts) {
      if (a.name === 'build.json') continue;
      const st = await stat(join(dir, a.name));
      if (!st.isFile() || st.size !== a.size) {
        log(sink, 'warn', `${relDir}/${a.name}: size ${st.size}, build.json says ${a.size}; not indexed`);
        return undefined;
      }
    }
  } catch (e) {
    log(sink, 'warn', `${relDir}: incomplete (${(e as Error).message}); not indexed`);
    return undefined;
  }
  return { record, dir, relDir };
}

/** Complete builds of the tree, grouped by product key, newest first. */
export async function scanTree(
  tree: string,
  opts: { exclude?: Set<string>; sink: EventSink },
): Promise<Map<string, PublishedBuild[]>> {
  const byProduct = new Map<string, PublishedBuild[]>();
  for (const rel of await listBuildDirs(tree)) {
    if (opts.exclude?.has(rel)) continue;
    const b = await readCompleteBuild(tree, rel, opts.sink);
    if (!b) continue;
    const key = productKey(b.record.product);
    const list = byProduct.get(key) ?? [];
    list.push(b);
    byProduct.set(key, list);
  }
  for (const list of byProduct.values()) list.sort((a, b) => compareSerials(b.record.serial, a.record.serial));
  return new Map([...byProduct.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
