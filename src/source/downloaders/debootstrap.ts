import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from '../errors.js';
import { probeDebian } from '../probe-debian.js';
import type { Downloader, SourceContext, SourceRecord } from '../types.js';
import { log } from '../../util/events.js';
import { withLock } from '../download/lock.js';
import { bootstrapArgs } from '../bootstrap-args.js';
import {
  findReleaseFile,
  keyringFor,
  releaseInput,
  requireTool,
  resolveMirror,
  runStreaming,
  verifiedByFor,
} from '../debian-common.js';

const SCRIPTS = '/usr/share/debootstrap/scripts';

/**
 * The host's debootstrap. `same_as` is passed as debootstrap's SCRIPT
 * argument instead of symlinking into the host's /usr/share/debootstrap
 * (which distrobuilder does, and which fails on read-only hosts).
 */
export const debootstrap: Downloader = {
  name: 'debootstrap',
  probe: probeDebian,
  async fetch(ctx: SourceContext): Promise<SourceRecord> {
    const tool = await requireTool('debootstrap', 'debootstrap');
    const src = ctx.step.source;
    const suite = src.suite || ctx.definition.image.release;
    const { mirror } = await resolveMirror(ctx, suite);
    const keyring = await keyringFor(ctx);
    try {
      const args = bootstrapArgs('debootstrap', ctx, { suite, mirror, keyringFile: keyring?.file });
      const script = await scriptFor(suite, src.same_as);
      if (script) args.push(script);
      // debootstrap re-checks cached .debs against the signed Packages index, so
      // nightly rebuilds reuse them; one run at a time may write the cache.
      const debs = path.join(ctx.cacheDir, 'debootstrap');
      const locks = path.join(ctx.cacheDir, 'locks');
      await mkdir(debs, { recursive: true });
      await mkdir(locks, { recursive: true });
      await withLock(
        path.join(locks, 'debootstrap.lock'),
        () => runStreaming(ctx, tool, [`--cache-dir=${debs}`, ...args]),
        {
          signal: ctx.signal,
          onWait: () => log(ctx.sink, 'info', 'debootstrap: waiting for another build using the package cache'),
        },
      ).catch(async (e: unknown) => {
        throw await withLogTail(e, ctx.rootfs);
      });
      const release = await findReleaseFile(path.join(ctx.rootfs, 'var/lib/apt/lists'), suite);
      const input = await releaseInput(release, mirror, suite, verifiedByFor(ctx, keyring, 'debootstrap'));
      return {
        downloader: 'debootstrap',
        resolved: { suite, mirror, ...(src.variant ? { variant: src.variant } : {}), ...(script ? { script } : {}) },
        inputs: [input],
      };
    } finally {
      await keyring?.dispose();
    }
  },
};

/**
 * debootstrap's own failure lines point at <target>/debootstrap/debootstrap.log,
 * which the failed build removes with the root: its last lines (the failing
 * maintainer script's output) go into the error instead, and its `E:` line
 * into the message.
 */
async function withLogTail(e: unknown, rootfs: string): Promise<unknown> {
  if (!(e instanceof SourceError)) return e;
  // debootstrap says what went wrong on its last `E:` line.
  const reason = e.details
    .filter((l) => l.startsWith('E: '))
    .at(-1)
    ?.slice(3);
  const message = reason ? `${e.message}: ${reason}` : e.message;
  let tail: string[] = [];
  try {
    const text = await readFile(path.join(rootfs, 'debootstrap/debootstrap.log'), 'utf8');
    tail = ['--- last lines of debootstrap.log ---', ...text.trimEnd().split('\n').slice(-15)];
  } catch {
    // debootstrap stopped before it wrote its log
  }
  return new SourceError(message, { details: [...e.details, ...tail], cause: e });
}

/** The script to run when the suite has none of its own but `same_as` names one. */
async function scriptFor(suite: string, sameAs: string | undefined): Promise<string | undefined> {
  if (!sameAs) return undefined;
  try {
    await access(path.join(SCRIPTS, suite));
    return undefined;
  } catch {
    return path.join(SCRIPTS, sameAs);
  }
}
