import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { log } from '../util/events.js';
import type { FetchedInput, SourceContext } from './types.js';
import { SourceError } from './errors.js';
export { runStreaming } from './run-tool.js';
import { pickDebianMirror, readAptSources } from './apt-mirror.js';
import { findOnPath } from './host-tools.js';
import { buildKeyring, type Keyring } from './verify/gpg.js';

/** `source.url`, or the Debian mirror the host's apt uses (so the site's mirror or proxy is honoured). */
export async function resolveMirror(ctx: SourceContext, suite: string): Promise<{ mirror: string; from: string }> {
  const url = ctx.step.source.url;
  if (url) return { mirror: url, from: 'source.url' };
  const sources = await readAptSources();
  const mirror = pickDebianMirror(sources, suite);
  if (!mirror) {
    throw new SourceError(
      'source.url is empty and no Debian mirror was found in /etc/apt/sources.list, sources.list.d/*.list or *.sources; set source.url',
    );
  }
  const from = sources.find((s) => s.uris.includes(mirror))?.file ?? '/etc/apt';
  log(ctx.sink, 'info', `${ctx.step.downloader}: using the mirror ${mirror} from ${from}`);
  return { mirror, from };
}

/** A keyring from `source.keys` for --keyring, or undefined when the tool's default keyring applies. */
export async function keyringFor(ctx: SourceContext): Promise<Keyring | undefined> {
  const keys = ctx.step.source.keys ?? [];
  if (keys.length === 0) return undefined;
  return buildKeyring(keys, { keyserver: ctx.step.source.keyserver, sink: ctx.sink });
}

export async function requireTool(name: string, pkg: string): Promise<string> {
  const found = await findOnPath(name, ['/usr/sbin', '/sbin', '/usr/bin']);
  if (!found) throw new SourceError(`${name} is not installed on this host (Debian package ${pkg})`);
  return found;
}

/**
 * What a bootstrapper fetched, for the build record: the suite's
 * (In)Release file, whose signature the tool checked and which pins every
 * package it installed by digest.
 */
export async function releaseInput(
  releaseFile: string | undefined,
  mirror: string,
  suite: string,
  verifiedBy: string,
): Promise<FetchedInput> {
  const url = `${mirror.replace(/\/+$/, '')}/dists/${suite}/${releaseFile && path.basename(releaseFile).endsWith('_Release') ? 'Release' : 'InRelease'}`;
  if (!releaseFile) return { url, sha256: '', verifiedBy };
  const data = await readFile(releaseFile);
  return { url, sha256: createHash('sha256').update(data).digest('hex'), size: data.length, verifiedBy };
}

/** The suite's InRelease/Release file apt left in `<root>/var/lib/apt/lists`, if any. */
export async function findReleaseFile(listsDir: string, suite: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(listsDir);
  } catch {
    return undefined;
  }
  const match = (suffix: string): string | undefined => names.find((n) => n.endsWith(`_dists_${suite}_${suffix}`));
  const name = match('InRelease') ?? match('Release');
  return name ? path.join(listsDir, name) : undefined;
}

export function verifiedByFor(ctx: SourceContext, keyring: Keyring | undefined, tool: string): string {
  if (keyring) return `gpg:${keyring.fingerprints.join(',')}`;
  if (ctx.step.source.skip_verification) return 'none';
  return `${tool}-release`;
}
