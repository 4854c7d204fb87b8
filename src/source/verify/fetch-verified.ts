import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SourceSection } from '../../definition/types.js';
import { log } from '../../util/events.js';
import type { FetchedInput, SourceContext } from '../types.js';
import { SourceError, VerificationError } from '../errors.js';
import { fetchCached, type CachedFile, type ExpectedDigest } from '../download/cache.js';
import { fetchSmall } from '../download/http.js';
import { hashFile } from '../hash.js';
import { buildKeyring, verifyClearsigned, verifyDetached, type Keyring } from './gpg.js';
import { isClearsigned, parseChecksum, parseSums } from './sums.js';

/** Signature files tried next to a file or a sums file, in this order. */
const SIGNATURE_SUFFIXES = ['.asc', '.sig', '.gpg'];
/** Sums files tried in the file's directory; `{}` is the file's own name. */
const SUMS_NAMES = [
  'SHA256SUMS',
  'SHA512SUMS',
  'sha256sums',
  'sha512sums',
  'sha256sum.txt',
  'sha512sum.txt',
  '{}.sha256',
  '{}.sha512',
];

export interface VerifiedFile {
  file: CachedFile;
  input: FetchedInput;
}

/**
 * Fetches `url` (through the cache) and proves it is what the definition
 * trusts, failing closed:
 * - `keys` set: a signature by one of them must cover the file, either
 *   directly (`<url>.asc|.sig|.gpg`) or through a signed sums file in the same
 *   directory (clearsigned, or with a detached `.asc|.sig|.gpg`);
 * - `checksum` set (kiln extension, `sha256:HEX`/`sha512:HEX`): must match;
 * - neither: an error unless `skip_verification: true` (ignored when keys are set).
 */
export async function fetchVerified(
  ctx: SourceContext,
  url: string,
  source: SourceSection = ctx.step.source,
): Promise<VerifiedFile> {
  const keys = source.keys ?? [];
  let checksum: ExpectedDigest | undefined;
  if (source.checksum !== undefined && source.checksum !== '') {
    checksum = parseChecksum(source.checksum);
    if (!checksum) {
      throw new SourceError(
        `source.checksum: "${source.checksum}" is not sha256:<64 hex digits> or sha512:<128 hex digits>`,
      );
    }
  }
  const http = { sink: ctx.sink, signal: ctx.signal };
  if (keys.length === 0) {
    if (checksum) {
      const file = await fetchCached(url, ctx.cacheDir, { ...http, expected: checksum });
      return { file, input: input(file, `checksum:${checksum.algorithm}`) };
    }
    if (!source.skip_verification) {
      throw new VerificationError(
        `${url} cannot be verified: set source.keys (armored keys or fingerprints), source.checksum (sha256:HEX), or skip_verification: true`,
      );
    }
    log(ctx.sink, 'warn', `${url}: skip_verification is set; the download is NOT verified`);
    const file = await fetchCached(url, ctx.cacheDir, http);
    return { file, input: input(file, 'none') };
  }

  const keyring = await buildKeyring(keys, { keyserver: source.keyserver, sink: ctx.sink });
  try {
    const tried: string[] = [];
    const viaSums = await expectedFromSignedSums(url, keyring, tried, ctx);
    if (viaSums) {
      const expected = checksum ?? viaSums.expected;
      if (checksum && (checksum.algorithm !== viaSums.expected.algorithm || checksum.hex !== viaSums.expected.hex)) {
        // Both must hold; fetch against the sums file, then compare the checksum too.
        const file = await fetchCached(url, ctx.cacheDir, { ...http, expected: viaSums.expected });
        await assertDigest(url, file, checksum);
        return { file, input: input(file, `gpg:${viaSums.fingerprint}`) };
      }
      const file = await fetchCached(url, ctx.cacheDir, { ...http, expected });
      return { file, input: input(file, `gpg:${viaSums.fingerprint}`) };
    }
    for (const suffix of SIGNATURE_SUFFIXES) {
      const sigUrl = `${url}${suffix}`;
      tried.push(sigUrl);
      const sig = await fetchText(sigUrl, http);
      if (!sig) continue;
      const file = await fetchCached(url, ctx.cacheDir, { ...http, ...(checksum ? { expected: checksum } : {}) });
      const fingerprint = await verifyDetached(keyring, sigUrl, sig, file.path);
      return { file, input: input(file, `gpg:${fingerprint}`) };
    }
    throw new VerificationError(
      `${url}: source.keys are set but no signature or signed sums file was found (tried ${tried.join(', ')})`,
    );
  } finally {
    await keyring.dispose();
  }
}

async function expectedFromSignedSums(
  url: string,
  keyring: Keyring,
  tried: string[],
  ctx: SourceContext,
): Promise<{ expected: ExpectedDigest; fingerprint: string } | undefined> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(target.pathname.lastIndexOf('/') + 1));
  const http = { sink: ctx.sink, signal: ctx.signal };
  for (const pattern of SUMS_NAMES) {
    const sumsUrl = new URL(pattern.replace('{}', encodeURIComponent(name)), target).href;
    tried.push(sumsUrl);
    const sums = await fetchText(sumsUrl, http);
    if (!sums) continue;
    let signed: { text: string; fingerprint: string } | undefined;
    if (isClearsigned(sums.toString('utf8'))) {
      const r = await verifyClearsigned(keyring, sumsUrl, sums);
      signed = { text: r.content.toString('utf8'), fingerprint: r.fingerprint };
    } else {
      for (const suffix of SIGNATURE_SUFFIXES) {
        const sig = await fetchText(`${sumsUrl}${suffix}`, http);
        if (!sig) continue;
        const tmp = path.join(ctx.workDir, `sums-${process.pid}-${Date.now()}`);
        await writeFile(tmp, sums);
        const fingerprint = await verifyDetached(keyring, `${sumsUrl}${suffix}`, sig, tmp).finally(() =>
          rm(tmp, { force: true }),
        );
        signed = { text: sums.toString('utf8'), fingerprint };
        break;
      }
    }
    if (!signed) {
      log(ctx.sink, 'debug', `${sumsUrl}: found, but unsigned; looking further`);
      continue;
    }
    const entries = parseSums(signed.text);
    const entry =
      entries.get(name) ?? (entries.size === 1 && pattern.startsWith('{}') ? [...entries.values()][0] : undefined);
    if (!entry) throw new VerificationError(`${sumsUrl}: signed, but has no checksum for ${name}`);
    return { expected: entry, fingerprint: signed.fingerprint };
  }
  return undefined;
}

async function fetchText(
  url: string,
  http: { sink: SourceContext['sink']; signal?: AbortSignal | undefined },
): Promise<Buffer | undefined> {
  if (url.startsWith('file:')) {
    try {
      return await readFile(new URL(url));
    } catch {
      return undefined;
    }
  }
  return (await fetchSmall(url, { ...http, maxBytes: 4 << 20, probe: true }))?.body;
}

async function assertDigest(url: string, file: CachedFile, expected: ExpectedDigest): Promise<void> {
  const got = await hashFile(file.path, expected.algorithm);
  if (got !== expected.hex) {
    throw new VerificationError(
      `${url}: ${expected.algorithm} mismatch with source.checksum: expected ${expected.hex}, got ${got}`,
    );
  }
}

function input(file: CachedFile, verifiedBy: string): FetchedInput {
  return { url: file.url, sha256: file.sha256, size: file.size, verifiedBy };
}
