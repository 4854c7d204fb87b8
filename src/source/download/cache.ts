import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../../util/events.js';
import { VerificationError, SourceError } from '../errors.js';
import { hashFile, type DigestAlgorithm } from '../hash.js';
import { downloadFile, type HttpOptions, type Validators } from './http.js';
import { withLock } from './lock.js';
import { pathExists } from '../../util/fs.js';

export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

export interface CachedFile {
  /** Where the bytes are; immutable (content-addressed) for http(s), the file itself for file://. */
  path: string;
  url: string;
  sha256: string;
  size: number;
  /** No body was transferred: served from the cache (maybe after a 304). */
  fromCache: boolean;
}

interface UrlEntry {
  url: string;
  sha256: string;
  sha512?: string;
  size: number;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
}

/**
 * The download cache. Bodies live once under `blobs/sha256/<hex>`; each URL
 * has an entry with the server's validators and the digest it resolved to.
 *
 * - A known expected digest (sums file, checksum, registry digest) whose blob
 *   is present is served without any request, after re-hashing it.
 * - Otherwise a cached URL is revalidated with If-None-Match /
 *   If-Modified-Since; a 304 reuses it, a 200 replaces it.
 * - A URL whose server sends no validators is downloaded again: a "latest"
 *   file can change under the same name, and kiln never guesses.
 * - Partial downloads are resumed (Range + If-Range) on the next attempt.
 * - A per-URL lock makes concurrent builds wait instead of colliding.
 */
export async function fetchCached(
  url: string,
  cacheDir: string,
  opts: HttpOptions & { expected?: ExpectedDigest } = {},
): Promise<CachedFile> {
  if (url.startsWith('file:')) return localFile(url, opts.expected);
  if (!/^https?:\/\//i.test(url)) throw new SourceError(`${url}: only http(s):// and file:// URLs can be downloaded`);
  const key = createHash('sha256').update(url).digest('hex');
  const dirs = {
    blobs: path.join(cacheDir, 'blobs', 'sha256'),
    urls: path.join(cacheDir, 'urls'),
    partial: path.join(cacheDir, 'partial'),
    locks: path.join(cacheDir, 'locks'),
  };
  await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true })));
  const entryFile = path.join(dirs.urls, `${key}.json`);
  const lockFile = path.join(dirs.locks, `${key}.lock`);
  return withLock(
    lockFile,
    async () => {
      const entry = await readEntry(entryFile);
      const blobOf = (hex: string): string => path.join(dirs.blobs, hex);

      if (opts.expected) {
        const hit = await expectedHit(opts.expected, entry, blobOf);
        if (hit) {
          log(opts.sink ?? { emit() {} }, 'debug', `${url}: cache hit by digest ${hit.sha256}`);
          return { path: blobOf(hit.sha256), url, sha256: hit.sha256, size: hit.size, fromCache: true };
        }
      }

      const part = path.join(dirs.partial, key);
      const partMeta = `${part}.json`;
      const cachedBlobOk = entry !== undefined && (await pathExists(blobOf(entry.sha256), { follow: true }));
      const conditional: Validators | undefined =
        cachedBlobOk && (entry.etag || entry.lastModified) ? pick(entry) : undefined;
      const resumeFrom = conditional ? undefined : await readJson<Validators>(partMeta);
      const outcome = await downloadFile(url, part, {
        ...opts,
        conditional,
        resumeFrom,
        // Saved before the body so a cut connection can be resumed by the next run.
        onValidators: (v) =>
          v.etag || v.lastModified ? writeFile(partMeta, JSON.stringify(v)) : rm(partMeta, { force: true }),
      });
      if (outcome.status === 'not-modified' && entry) {
        const blob = blobOf(entry.sha256);
        await verifyBlob(url, blob, entry, opts.expected);
        await writeEntry(entryFile, { ...entry, ...outcome.validators, fetchedAt: new Date().toISOString() });
        return { path: blob, url, sha256: entry.sha256, size: entry.size, fromCache: true };
      }
      const size = outcome.status === 'downloaded' ? outcome.size : (await stat(part)).size;
      const sha256 = await hashFile(part, 'sha256');
      const sha512 = opts.expected?.algorithm === 'sha512' ? await hashFile(part, 'sha512') : undefined;
      if (opts.expected) {
        const got = opts.expected.algorithm === 'sha256' ? sha256 : sha512!;
        if (got !== opts.expected.hex.toLowerCase()) {
          await rm(part, { force: true });
          await rm(partMeta, { force: true });
          throw new VerificationError(
            `${url}: ${opts.expected.algorithm} mismatch: expected ${opts.expected.hex.toLowerCase()}, got ${got}`,
          );
        }
      }
      const blob = blobOf(sha256);
      if (await pathExists(blob, { follow: true })) await rm(part, { force: true });
      else await rename(part, blob);
      await rm(partMeta, { force: true });
      const validators = outcome.status === 'downloaded' ? outcome.validators : {};
      await writeEntry(entryFile, {
        url,
        sha256,
        ...(sha512 ? { sha512 } : {}),
        size,
        ...validators,
        fetchedAt: new Date().toISOString(),
      });
      return { path: blob, url, sha256, size, fromCache: false };
    },
    {
      signal: opts.signal,
      onWait: () => log(opts.sink ?? { emit() {} }, 'info', `${url}: waiting for another build downloading it`),
    },
  );
}

function pick(e: UrlEntry): Validators {
  const v: Validators = {};
  if (e.etag) v.etag = e.etag;
  if (e.lastModified) v.lastModified = e.lastModified;
  return v;
}

async function expectedHit(
  expected: ExpectedDigest,
  entry: UrlEntry | undefined,
  blobOf: (hex: string) => string,
): Promise<{ sha256: string; size: number } | undefined> {
  const want = expected.hex.toLowerCase();
  let sha256: string | undefined;
  if (expected.algorithm === 'sha256') sha256 = want;
  else if (entry?.sha512 === want) sha256 = entry.sha256;
  if (!sha256) return undefined;
  const blob = blobOf(sha256);
  if (!(await pathExists(blob, { follow: true }))) return undefined;
  // The cache is not trusted blindly: a damaged blob is dropped and fetched again.
  const actual = await hashFile(blob, expected.algorithm);
  if (actual !== want) {
    await rm(blob, { force: true });
    return undefined;
  }
  return { sha256, size: (await stat(blob)).size };
}

async function verifyBlob(url: string, blob: string, entry: UrlEntry, expected?: ExpectedDigest): Promise<void> {
  if (!expected) return;
  const actual = await hashFile(blob, expected.algorithm);
  if (actual !== expected.hex.toLowerCase()) {
    throw new VerificationError(
      `${url}: ${expected.algorithm} mismatch: expected ${expected.hex.toLowerCase()}, got ${actual} (unchanged on the server since ${entry.fetchedAt})`,
    );
  }
}

async function localFile(url: string, expected?: ExpectedDigest): Promise<CachedFile> {
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch {
    throw new SourceError(`${url}: not a valid file:// URL`);
  }
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new SourceError(`${url}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof SourceError) throw e;
    throw new SourceError(
      `${url}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  const sha256 = await hashFile(file, 'sha256');
  if (expected) {
    const got = expected.algorithm === 'sha256' ? sha256 : await hashFile(file, 'sha512');
    if (got !== expected.hex.toLowerCase()) {
      throw new VerificationError(
        `${url}: ${expected.algorithm} mismatch: expected ${expected.hex.toLowerCase()}, got ${got}`,
      );
    }
  }
  return { path: file, url, sha256, size, fromCache: true };
}

async function readEntry(file: string): Promise<UrlEntry | undefined> {
  const e = await readJson<UrlEntry>(file);
  return e && typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) ? e : undefined;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function writeEntry(file: string, e: UrlEntry): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(e, null, 2));
  await rename(tmp, file);
}
