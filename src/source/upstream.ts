/**
 * Distribution downloaders share one shape: find the artifact upstream
 * (often "latest" discovery), fetch it verified the way that distribution
 * publishes proof (a signed sums file, a detached signature), then lay it
 * into the root. This module holds the verification policy for known
 * layouts and the Downloader built from a locate/install pair.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SourceSection } from '../definition/types.js';
import { log } from '../util/events.js';
import type { Downloader, FetchedInput, ProbeContext, SourceContext, SourceIdentity, SourceRecord } from './types.js';
import { SourceError, VerificationError } from './errors.js';
import { fetchCached, type CachedFile } from './download/cache.js';
import { fetchSmall } from './download/http.js';
import { hashFile } from './hash.js';
import { buildKeyring, verifyClearsigned, verifyDetached, type Keyring } from './verify/gpg.js';
import { isClearsigned, parseChecksum, parseSums, type SumEntry } from './verify/sums.js';

/** How upstream signs a sums file. */
export type SumsSignature =
  /** The sums file itself is clearsigned (kiln never falls back to reading it unsigned). */
  | { kind: 'clearsigned' }
  /** A detached signature over the sums file. */
  | { kind: 'detached'; url: string }
  /** Upstream publishes the sums unsigned: integrity only, never proof of origin. */
  | { kind: 'unsigned' };

export interface SumsFile {
  url: string;
  signature: SumsSignature;
  /** The artifact's name in the sums file (default: the last URL segment). */
  name?: string;
  /** Parser for layouts parseSums cannot read (Gentoo DIGESTS, Hydra JSON); default parseSums. */
  parse?: (text: string) => Map<string, SumEntry>;
  /** Accept header for the request (Hydra answers JSON only when asked). */
  accept?: string;
}

/** One upstream file and the proof upstream publishes for it. */
export interface Artifact {
  url: string;
  sums?: SumsFile;
  /** A detached OpenPGP signature over the artifact itself. */
  signature?: string;
}

export interface VerifiedArtifact {
  file: CachedFile;
  input: FetchedInput;
  /** The sums/signature documents that proved it (for the build record). */
  proofs: FetchedInput[];
}

function nameOf(url: string): string {
  const p = new URL(url).pathname;
  return decodeURIComponent(p.slice(p.lastIndexOf('/') + 1));
}

async function required(url: string, what: string, ctx: ProbeContext, accept?: string): Promise<Buffer> {
  const got = await fetchSmall(url, {
    sink: ctx.sink,
    signal: ctx.signal,
    maxBytes: 16 << 20,
    ...(accept ? { accept } : {}),
  });
  if (!got) throw new SourceError(`${url}: not found (HTTP 404); it is the ${what}`);
  return got.body;
}

function proofInput(url: string, body: Buffer, verifiedBy: string): FetchedInput {
  return { url, sha256: createHash('sha256').update(body).digest('hex'), size: body.length, verifiedBy };
}

/**
 * Fetches `artifact` through the cache and proves it, failing closed:
 * - `keys` set: upstream's signature must verify (signed sums file, else a
 *   detached signature over the artifact); a layout that publishes no
 *   signature cannot satisfy keys and is an error;
 * - no keys, `checksum` set (`sha256:HEX`/`sha512:HEX`): must match;
 * - neither: an error unless `skip_verification: true`; even then upstream's
 *   (unsigned) sums file is checked when there is one, for integrity.
 * With keys and a checksum, both must hold.
 */
export async function fetchArtifact(
  ctx: SourceContext,
  artifact: Artifact,
  source: SourceSection = ctx.step.source,
): Promise<VerifiedArtifact> {
  const keys = source.keys ?? [];
  const http = { sink: ctx.sink, signal: ctx.signal };
  let checksum: SumEntry | undefined;
  if (source.checksum) {
    checksum = parseChecksum(source.checksum);
    if (!checksum)
      throw new SourceError(
        `source.checksum: "${source.checksum}" is not sha256:<64 hex digits> or sha512:<128 hex digits>`,
      );
  }
  const signedSums = artifact.sums && artifact.sums.signature.kind !== 'unsigned' ? artifact.sums : undefined;

  if (keys.length > 0) {
    if (!signedSums && !artifact.signature) {
      throw new VerificationError(
        `${artifact.url}: upstream publishes no OpenPGP signature for it, so source.keys cannot verify it; remove keys and pin source.checksum (sha256:HEX)`,
      );
    }
    const keyring = await buildKeyring(keys, { keyserver: source.keyserver, sink: ctx.sink });
    try {
      if (signedSums) {
        const { entry, fingerprint, proofs } = await signedEntry(ctx, artifact.url, signedSums, keyring);
        const file = await fetchCached(artifact.url, ctx.cacheDir, { ...http, expected: entry });
        if (checksum) await assertDigest(artifact.url, file, checksum, 'source.checksum');
        return { file, input: toInput(file, `gpg:${fingerprint}`), proofs };
      }
      const sigUrl = artifact.signature!;
      const sig = await required(sigUrl, `signature of ${artifact.url}`, ctx);
      const file = await fetchCached(artifact.url, ctx.cacheDir, {
        ...http,
        ...(checksum ? { expected: checksum } : {}),
      });
      const fingerprint = await verifyDetached(keyring, sigUrl, sig, file.path);
      return {
        file,
        input: toInput(file, `gpg:${fingerprint}`),
        proofs: [proofInput(sigUrl, sig, `gpg:${fingerprint}`)],
      };
    } finally {
      await keyring.dispose();
    }
  }

  if (checksum) {
    const file = await fetchCached(artifact.url, ctx.cacheDir, { ...http, expected: checksum });
    return { file, input: toInput(file, `checksum:${checksum.algorithm}`), proofs: [] };
  }
  if (!source.skip_verification) {
    throw new VerificationError(
      `${artifact.url} cannot be verified: set source.keys (the distribution's signing key), source.checksum (sha256:HEX), or skip_verification: true`,
    );
  }
  log(ctx.sink, 'warn', `${artifact.url}: skip_verification is set; the download's origin is NOT verified`);
  if (artifact.sums) {
    const body = (
      await fetchSmall(artifact.sums.url, {
        ...http,
        maxBytes: 16 << 20,
        ...(artifact.sums.accept ? { accept: artifact.sums.accept } : {}),
      })
    )?.body;
    if (body) {
      // Read a clearsigned file's text without trusting its signature: integrity only.
      const text = unclearsign(body.toString('utf8'));
      const entry = entryFor(artifact.sums, artifact.url, text);
      const file = await fetchCached(artifact.url, ctx.cacheDir, { ...http, expected: entry });
      return {
        file,
        input: toInput(file, `sums-unsigned:${entry.algorithm}`),
        proofs: [proofInput(artifact.sums.url, body, 'none')],
      };
    }
    log(ctx.sink, 'warn', `${artifact.sums.url}: not found; the download is not checked at all`);
  }
  const file = await fetchCached(artifact.url, ctx.cacheDir, http);
  return { file, input: toInput(file, 'none'), proofs: [] };
}

async function signedEntry(
  ctx: SourceContext,
  artifactUrl: string,
  sums: SumsFile,
  keyring: Keyring,
): Promise<{ entry: SumEntry; fingerprint: string; proofs: FetchedInput[] }> {
  const body = await required(sums.url, `checksum list for ${artifactUrl}`, ctx, sums.accept);
  let text: string;
  let fingerprint: string;
  const proofs: FetchedInput[] = [];
  if (sums.signature.kind === 'clearsigned') {
    if (!isClearsigned(body.toString('utf8'))) {
      throw new VerificationError(
        `${sums.url}: expected a clearsigned checksum list but it is not signed; kiln does not fall back to unsigned checksums`,
      );
    }
    const r = await verifyClearsigned(keyring, sums.url, body);
    text = r.content.toString('utf8');
    fingerprint = r.fingerprint;
    proofs.push(proofInput(sums.url, body, `gpg:${fingerprint}`));
  } else {
    const sigUrl = (sums.signature as { url: string }).url;
    const sig = await required(sigUrl, `signature of ${sums.url}`, ctx);
    const dir = await mkdtemp(path.join(ctx.workDir, 'sums-'));
    try {
      const tmp = path.join(dir, 'sums');
      await writeFile(tmp, body);
      fingerprint = await verifyDetached(keyring, sigUrl, sig, tmp);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    text = body.toString('utf8');
    proofs.push(proofInput(sums.url, body, `gpg:${fingerprint}`), proofInput(sigUrl, sig, `gpg:${fingerprint}`));
  }
  return { entry: entryFor(sums, artifactUrl, text), fingerprint, proofs };
}

function entryFor(sums: SumsFile, artifactUrl: string, text: string): SumEntry {
  const name = sums.name ?? nameOf(artifactUrl);
  const entries = (sums.parse ?? parseSums)(text);
  const entry =
    entries.get(name) ??
    (entries.size === 1 && nameOf(sums.url).startsWith(name) ? [...entries.values()][0] : undefined);
  if (!entry) throw new VerificationError(`${sums.url}: has no checksum for ${name}`);
  return entry;
}

/** The signed text of a clearsigned document (dash-escaping undone), unverified. */
function unclearsign(text: string): string {
  if (!isClearsigned(text)) return text;
  const body = text
    .split(/\r?\n\r?\n/)
    .slice(1)
    .join('\n\n');
  return body.split(/^-----BEGIN PGP SIGNATURE-----/m)[0]!.replace(/^- /gm, '');
}

async function assertDigest(url: string, file: CachedFile, expected: SumEntry, what: string): Promise<void> {
  const got = await hashFile(file.path, expected.algorithm);
  if (got !== expected.hex)
    throw new VerificationError(
      `${url}: ${expected.algorithm} mismatch with ${what}: expected ${expected.hex}, got ${got}`,
    );
}

function toInput(file: CachedFile, verifiedBy: string): FetchedInput {
  return { url: file.url, sha256: file.sha256, size: file.size, verifiedBy };
}

/**
 * Upstream identity without the artifact: the resolved URL plus the digest
 * of its sums file (or signature), which changes whenever the artifact does.
 * Undefined when upstream publishes neither.
 */
export async function probeArtifact(ctx: ProbeContext, artifact: Artifact): Promise<SourceIdentity | undefined> {
  const proof = artifact.sums?.url ?? artifact.signature;
  if (!proof) return undefined;
  const body = await required(proof, `checksum list or signature for ${artifact.url}`, ctx, artifact.sums?.accept);
  return { parts: { [artifact.url]: `${nameOf(proof)}:sha256:${createHash('sha256').update(body).digest('hex')}` } };
}

/** Where a distribution downloader found its artifact. */
export interface Located {
  artifact: Artifact;
  /** What discovery resolved ("latest", codename, build ...), recorded with the artifact URL. */
  resolved: Record<string, string>;
  /** The URL names one immutable file (a dated or build-numbered name): it identifies the content by itself. */
  immutable?: boolean;
}

export interface ArtifactDownloaderSpec {
  name: string;
  locate(ctx: ProbeContext): Promise<Located>;
  /** Lays the verified artifact into ctx.rootfs; returns extra inputs and resolved facts. */
  install(
    ctx: SourceContext,
    artifact: VerifiedArtifact,
    located: Located,
  ): Promise<{ inputs?: FetchedInput[]; resolved?: Record<string, string> } | void>;
  /** Identity parts beyond the artifact's proof (e.g. a second download). */
  probeExtra?(ctx: ProbeContext, located: Located): Promise<Record<string, string>>;
}

/** A Downloader from a locate/install pair: discovery is logged and recorded, the probe reads only the proof. */
export function artifactDownloader(spec: ArtifactDownloaderSpec): Downloader {
  return {
    name: spec.name,
    async fetch(ctx: SourceContext): Promise<SourceRecord> {
      const located = await spec.locate(ctx);
      log(ctx.sink, 'info', `${spec.name}: resolved to ${located.artifact.url}`);
      const verified = await fetchArtifact(ctx, located.artifact);
      const extra = (await spec.install(ctx, verified, located)) ?? {};
      return {
        downloader: spec.name,
        resolved: { ...located.resolved, ...extra.resolved, url: located.artifact.url },
        inputs: [verified.input, ...verified.proofs, ...(extra.inputs ?? [])],
      };
    },
    async probe(ctx: ProbeContext): Promise<SourceIdentity | undefined> {
      const located = await spec.locate(ctx);
      // A fixed file name needs no further request; a moving one is identified by its proof.
      const id = located.immutable
        ? { parts: { [located.artifact.url]: 'immutable' } }
        : await probeArtifact(ctx, located.artifact);
      if (!id) return undefined;
      return { parts: { ...id.parts, ...(spec.probeExtra ? await spec.probeExtra(ctx, located) : {}) } };
    },
  };
}
