import { readFile } from 'node:fs/promises';
import { KilnError } from '../util/errors.js';

/** Written beside build.json by every build; `kiln build --lock` takes it back. */
export const LOCK_FILE = 'build.lock.json';
export const LOCK_VERSION = 1;

/** One installed package, as the image's package database records it. */
export interface LockedPackage {
  name: string;
  version: string;
  arch?: string;
}

/** An upstream file the build read (a Release file, a root tarball), by digest. */
export interface LockedInput {
  url: string;
  sha256: string;
}

/** A package index the image's own package manager used, as it left it in the root. */
export interface LockedRepository {
  /** File name under /var/lib/apt/lists (apt's mangled URL). */
  file: string;
  sha256: string;
}

/**
 * `build.lock.json`: everything a build resolved that a later build must
 * take as given to repeat it. Nothing in it depends on the clock or the
 * serial, so a build repeated from its lock writes the same lock.
 */
export interface BuildLock {
  lockVersion: number;
  kiln: string;
  product: { distribution: string; release: string; arch: string; variant: string };
  /** The digest of the plan without the lock's pins (src/pipeline/input-digest.ts). */
  plan: string;
  inputs: LockedInput[];
  repositories: LockedRepository[];
  /** The package databases read (`dpkg`, `apk`, ...). */
  databases: string[];
  packages: LockedPackage[];
}

/** A lock file that cannot be used: names the file and what is wrong. */
export class LockError extends KilnError {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringField(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new LockError(`${where}: "${key}" must be a non-empty string`);
  return v;
}

/** Checks the shape of a parsed lock; `file` is for messages. */
export function parseLock(text: string, file: string): BuildLock {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LockError(`${file}: not JSON (${(e as Error).message}); give a build.lock.json a kiln build wrote`);
  }
  if (!isRecord(doc)) throw new LockError(`${file}: a lock is a JSON object`);
  if (doc.lockVersion !== LOCK_VERSION)
    throw new LockError(
      `${file}: lockVersion ${String(doc.lockVersion)} is not known; this kiln reads ${LOCK_VERSION}`,
    );
  const product = doc.product;
  if (!isRecord(product)) throw new LockError(`${file}: "product" must be an object`);
  for (const list of ['inputs', 'repositories', 'databases', 'packages'])
    if (!Array.isArray(doc[list])) throw new LockError(`${file}: "${list}" must be a list`);
  const packages = (doc.packages as unknown[]).map((p, i) => {
    const where = `${file}: packages[${i}]`;
    if (!isRecord(p)) throw new LockError(`${where}: must be an object with name and version`);
    const out: LockedPackage = { name: stringField(p, 'name', where), version: stringField(p, 'version', where) };
    if (p.arch !== undefined) out.arch = stringField(p, 'arch', where);
    return out;
  });
  const seen = new Set<string>();
  for (const p of packages) {
    const key = lockKey(p);
    if (seen.has(key)) throw new LockError(`${file}: package ${key} is listed twice`);
    seen.add(key);
  }
  return {
    lockVersion: LOCK_VERSION,
    kiln: stringField(doc, 'kiln', file),
    product: {
      distribution: stringField(product, 'distribution', `${file}: product`),
      release: stringField(product, 'release', `${file}: product`),
      arch: stringField(product, 'arch', `${file}: product`),
      variant: stringField(product, 'variant', `${file}: product`),
    },
    plan: stringField(doc, 'plan', file),
    inputs: (doc.inputs as unknown[]).map((x, i) => {
      if (!isRecord(x)) throw new LockError(`${file}: inputs[${i}] must be an object`);
      return {
        url: stringField(x, 'url', `${file}: inputs[${i}]`),
        sha256: stringField(x, 'sha256', `${file}: inputs[${i}]`),
      };
    }),
    repositories: (doc.repositories as unknown[]).map((x, i) => {
      if (!isRecord(x)) throw new LockError(`${file}: repositories[${i}] must be an object`);
      return {
        file: stringField(x, 'file', `${file}: repositories[${i}]`),
        sha256: stringField(x, 'sha256', `${file}: repositories[${i}]`),
      };
    }),
    databases: (doc.databases as unknown[]).map((x, i) => {
      if (typeof x !== 'string') throw new LockError(`${file}: databases[${i}] must be a string`);
      return x;
    }),
    packages,
  };
}

export async function readLock(file: string): Promise<BuildLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new LockError(`${file}: cannot read the lock (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseLock(text, file);
}

/** `name` or `name:arch`: how the lock and the checks tell packages apart. */
export function lockKey(p: { name: string; arch?: string | undefined }): string {
  return p.arch ? `${p.name}:${p.arch}` : p.name;
}
