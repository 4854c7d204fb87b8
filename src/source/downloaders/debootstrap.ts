import { access, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from '../errors.js';
import { probeDebian } from '../probe-debian.js';
import type { Downloader, SourceContext, SourceRecord } from '../types.js';
import { log } from '../../util/events.js';
import { withLock } from '../download/lock.js';
import { bootstrapArgs } from '../bootstrap-args.js';
import { emulatorFor, type Emulator } from '../../runtime/emulation.js';
import { runStepInContainer } from '../../runtime/run-step.js';
import { KilnError } from '../../util/errors.js';
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
    // Checked before any download: a foreign root needs its qemu-user interpreter.
    const emulator = emulatorFor(ctx.definition.image.architecture_kernel);
    const keyring = await keyringFor(ctx);
    try {
      const args = bootstrapArgs('debootstrap', ctx, { suite, mirror, keyringFile: keyring?.file });
      // A foreign root is unpacked on the host; its packages are configured inside kiln's container.
      if (emulator) args.unshift('--foreign');
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
      if (emulator) {
        await secondStage(ctx, emulator).catch(async (e: unknown) => {
          throw await withLogTail(e, ctx.rootfs);
        });
      }
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
 * debootstrap's second stage, run by the root's own copy of debootstrap
 * inside kiln's container through qemu-user. `container=lxc` makes it
 * trust the container's /dev instead of testing mknod, which the step may
 * not do; the first stage's /proc symlink (to the host's /proc) gives way
 * to the directory the container mounts its own proc on. No network: the
 * second stage installs only the .debs the first one fetched, and without
 * the host's resolv.conf bound over /etc/resolv.conf systemd-resolved's
 * postinst can turn it into its symlink, as on a native build.
 */
async function secondStage(ctx: SourceContext, emulator: Emulator): Promise<void> {
  const proc = path.join(ctx.rootfs, 'proc');
  if ((await lstat(proc)).isSymbolicLink()) {
    await unlink(proc);
    await mkdir(proc, { mode: 0o555 });
  }
  log(ctx.sink, 'info', `debootstrap: second stage inside the container (${emulator.architecture} through qemu-user)`);
  try {
    await runStepInContainer({
      name: 'source',
      rootfs: ctx.rootfs,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', container: 'lxc', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C' },
      argv: ['/debootstrap/debootstrap', '--second-stage'],
      network: 'none',
      sink: ctx.sink,
      signal: ctx.signal,
      emulator,
    });
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    throw new SourceError(`debootstrap --second-stage failed: ${e.message}`, { details: e.details, cause: e });
  }
}

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
