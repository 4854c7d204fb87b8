import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { log } from '../util/events.js';
import type { SourceContext, SourceRecord } from './types.js';
import { SourceError } from './errors.js';
import { isStaticElf } from './elf.js';
import { busyboxVersion, populateBusyboxRoot } from './busybox-root.js';
import { findOnPath } from './host-tools.js';
import { runStreaming } from './run-tool.js';
import { fetchVerified } from './verify/fetch-verified.js';
import { unpackArchive } from './unpack/index.js';

/** Options forced on after `make defconfig`: a static binary, and no tc (it breaks with current kernel headers). */
const CONFIG_OVERRIDES: Record<string, string | null> = { CONFIG_STATIC: 'y', CONFIG_TC: null };

/**
 * `source.url` set: download the busybox source tarball (verified like any
 * other download), build it statically on the host with its own Makefile
 * (`make defconfig`, then CONFIG_STATIC=y) and install it like the host
 * binary. The URL is the tarball itself, or a directory holding
 * `busybox-<release>.tar.bz2` as distrobuilder expects.
 */
export async function buildBusyboxFromSource(ctx: SourceContext): Promise<SourceRecord> {
  const base = ctx.step.source.url!;
  const url = /\.tar(\.(bz2|gz|xz|zst))?$/.test(base)
    ? base
    : `${base.replace(/\/+$/, '')}/busybox-${ctx.definition.image.release}.tar.bz2`;
  const make = await findOnPath('make');
  if (!make)
    throw new SourceError(
      'busybox: building from source.url needs make and a C compiler on the host (Debian packages make, gcc, libc6-dev)',
    );
  const { file, input } = await fetchVerified(ctx, url);

  const srcRoot = path.join(ctx.workDir, 'busybox-src');
  await rm(srcRoot, { recursive: true, force: true });
  await mkdir(srcRoot);
  try {
    await unpackArchive(file.path, srcRoot, {
      sink: ctx.sink,
      signal: ctx.signal,
      limits: ctx.limits,
      task: 'unpack busybox source',
    });
    const top = await sourceTop(srcRoot, url);
    const jobs = String(Math.max(1, os.availableParallelism()));
    await runStreaming(ctx, make, ['defconfig'], { cwd: top });
    await applyConfig(path.join(top, '.config'));
    // oldconfig settles options that depend on the overrides without asking.
    await runStreaming(ctx, 'sh', ['-c', `yes '' | "$0" oldconfig >/dev/null`, make], { cwd: top });
    await runStreaming(ctx, make, [`-j${jobs}`, 'busybox'], { cwd: top });
    const binary = path.join(top, 'busybox');
    try {
      await stat(binary);
    } catch {
      throw new SourceError(`busybox: the build from ${url} produced no busybox binary`);
    }
    if (!(await isStaticElf(binary)))
      throw new SourceError(`busybox: the binary built from ${url} is not statically linked`);
    const { applets } = await populateBusyboxRoot(ctx.rootfs, binary);
    const version = await busyboxVersion(binary);
    log(ctx.sink, 'info', `busybox: built ${version ? `v${version} ` : ''}from ${url}, ${applets} applet links`);
    return {
      downloader: 'busybox',
      resolved: { ...(version ? { busybox_version: version } : {}), built_from: url },
      inputs: [input],
    };
  } finally {
    await rm(srcRoot, { recursive: true, force: true });
  }
}

/** The tarball's single top directory (busybox-X.Y.Z), or the root when files sit at the top. */
async function sourceTop(root: string, url: string): Promise<string> {
  const names = await readdir(root);
  if (names.includes('Makefile')) return root;
  if (names.length === 1 && (await stat(path.join(root, names[0]!))).isDirectory()) return path.join(root, names[0]!);
  throw new SourceError(`busybox: ${url} does not look like a busybox source tree (no Makefile at its top)`);
}

async function applyConfig(file: string): Promise<void> {
  let text = await readFile(file, 'utf8');
  for (const [key, value] of Object.entries(CONFIG_OVERRIDES)) {
    const line = value === null ? `# ${key} is not set` : `${key}=${value}`;
    const re = new RegExp(`^(# )?${key}(=.*| is not set)$`, 'm');
    text = re.test(text) ? text.replace(re, line) : `${text.replace(/\n?$/, '\n')}${line}\n`;
  }
  await writeFile(file, text);
}
