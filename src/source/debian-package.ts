import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { log } from '../util/events.js';
import { pickDebianMirror, readAptSources } from './apt-mirror.js';
import { fetchCached } from './download/cache.js';
import { fetchSmall } from './download/http.js';
import { SourceError, VerificationError } from './errors.js';
import type { FetchedInput, ProbeContext } from './types.js';
import { verifyClearsigned, type Keyring } from './verify/gpg.js';

/** The keyring debootstrap trusts by default, from the host's debian-archive-keyring package. */
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface DebianPackage {
  name: string;
  version: string;
  /** The downloaded .deb in the cache, its digest checked against the signed index. */
  file: string;
  /** What was fetched, for the build record: the suite's InRelease and the .deb. */
  inputs: FetchedInput[];
}

/** The host's Debian codename (`bookworm`), from /etc/os-release. */
export async function hostCodename(): Promise<string | undefined> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^VERSION_CODENAME=["']?([a-z]+)/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** One Packages stanza as field -> value (continuation lines joined). */
function stanzaOf(packages: string, name: string): Map<string, string> | undefined {
  for (const block of packages.split(/\n\n+/)) {
    if (!block.startsWith(`Package: ${name}\n`)) continue;
    const fields = new Map<string, string>();
    for (const m of block.matchAll(/^([A-Za-z0-9-]+):\s*(.*)$/gm)) fields.set(m[1] as string, m[2] as string);
    return fields;
  }
  return undefined;
}

/**
 * One binary package of `arch` from the host's Debian mirror, verified the
 * way apt does: InRelease against the host's Debian archive keyring, the
 * Packages index against InRelease, the .deb against the index.
 */
export async function fetchDebianPackage(
  ctx: ProbeContext,
  opts: { name: string; arch: string; suite: string; component?: string },
): Promise<DebianPackage> {
  const mirror = pickDebianMirror(await readAptSources(), opts.suite);
  if (!mirror)
    throw new SourceError(
      `no Debian mirror for ${opts.suite} in the host's apt configuration (/etc/apt/sources.list, sources.list.d)`,
    );
  const base = mirror.replace(/\/+$/, '');
  const component = opts.component ?? 'main';
  const http = { sink: ctx.sink, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const releaseUrl = `${base}/dists/${opts.suite}/InRelease`;
  const release = await fetchSmall(releaseUrl, { maxBytes: 16 << 20, ...http });
  if (!release) throw new SourceError(`${releaseUrl}: not found; is ${opts.suite} a suite of ${base}?`);
  const signed = (await withHostKeyring((k) => verifyClearsigned(k, releaseUrl, release.body))).content.toString();

  const indexName = `${component}/binary-${opts.arch}/Packages.xz`;
  const indexLine = new RegExp(`^ ([0-9a-f]{64})\\s+\\d+\\s+${indexName.replace(/[.+]/g, '\\$&')}$`, 'm');
  const sha256Section = signed.slice(signed.indexOf('\nSHA256:'));
  const indexSum = indexLine.exec(sha256Section)?.[1];
  if (!indexSum)
    throw new SourceError(`${releaseUrl}: lists no ${indexName}; Debian ${opts.suite} has no ${opts.arch} packages`);
  const index = await fetchCached(`${base}/dists/${opts.suite}/${indexName}`, ctx.cacheDir, {
    ...http,
    expected: { algorithm: 'sha256', hex: indexSum },
  });
  const packages = (await execa('xz', ['-dc', index.path], { maxBuffer: 1 << 30 })).stdout;
  const stanza = stanzaOf(packages, opts.name);
  const filename = stanza?.get('Filename');
  const sha256 = stanza?.get('SHA256');
  const version = stanza?.get('Version');
  if (!stanza || !filename || !sha256 || !version)
    throw new SourceError(`${opts.name}: not in ${base} ${opts.suite}/${indexName}`);
  if (filename.split('/').includes('..'))
    throw new VerificationError(`${opts.name}: Filename ${filename} leaves the pool`);
  const deb = await fetchCached(`${base}/${filename}`, ctx.cacheDir, {
    ...http,
    expected: { algorithm: 'sha256', hex: sha256 },
  });
  log(ctx.sink, 'info', `${opts.name} ${version} (${opts.arch}) from ${base}`);
  return {
    name: opts.name,
    version,
    file: deb.path,
    inputs: [
      {
        url: releaseUrl,
        sha256: createHash('sha256').update(release.body).digest('hex'),
        size: release.body.length,
        verifiedBy: `gpg:${DEBIAN_KEYRING}`,
      },
      { url: deb.url, sha256: deb.sha256, size: deb.size, verifiedBy: 'debian-packages-index' },
    ],
  };
}

/** gpgv writes its scratch files next to the keyring: a private copy of the host's. */
async function withHostKeyring<T>(fn: (k: Keyring) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-keyring-'));
  try {
    const file = path.join(dir, 'debian-archive-keyring.gpg');
    try {
      await copyFile(DEBIAN_KEYRING, file);
    } catch {
      throw new SourceError(`${DEBIAN_KEYRING} is missing (Debian package debian-archive-keyring)`);
    }
    return await fn({ file, fingerprints: [], dispose: async () => {} });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Unpacks one file of a .deb (`./bin/busybox`) to `dest` with the host's dpkg-deb. */
export async function extractFromDeb(deb: string, member: string, dest: string, scratch: string): Promise<void> {
  const dir = await mkdtemp(path.join(scratch, 'deb-'));
  try {
    await execa('dpkg-deb', ['-x', deb, dir]);
    await copyFile(path.join(dir, member), dest);
  } catch (e) {
    throw new SourceError(`${deb}: no ${member} (${(e as Error).message.split('\n')[0]})`, { cause: e });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
