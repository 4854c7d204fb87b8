import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Downloader, ProbeContext, SourceContext, SourceRecord } from '../types.js';
import { productArchitecture } from '../../definition/architectures.js';
import { emulatorFor, hostRunner, needsEmulation } from '../../runtime/emulation.js';
import { extractFromDeb, fetchDebianPackage, hostCodename, type DebianPackage } from '../debian-package.js';
import { SourceError } from '../errors.js';
import { isStaticElf } from '../elf.js';
import { hashFile } from '../hash.js';
import { findOnPath } from '../host-tools.js';
import { busyboxVersion, populateBusyboxRoot } from '../busybox-root.js';
import { log } from '../../util/events.js';
import { probeHostBusybox } from '../probe-busybox.js';

/**
 * The host's static busybox (Debian `busybox-static`), or with `source.url`
 * a busybox source tarball built statically on the host.
 */
export const busybox: Downloader = {
  name: 'busybox',
  async probe(ctx) {
    if (!ctx.step.source.url && needsEmulation(ctx.definition.image.architecture_kernel)) {
      const pkg = await foreignPackage(ctx);
      return { parts: Object.fromEntries(pkg.inputs.map((i) => [i.url, i.sha256])) };
    }
    return probeHostBusybox(ctx, findHostBusybox);
  },
  async fetch(ctx: SourceContext): Promise<SourceRecord> {
    if (ctx.step.source.url) {
      const { buildBusyboxFromSource } = await import('../busybox-build.js');
      return buildBusyboxFromSource(ctx);
    }
    if (needsEmulation(ctx.definition.image.architecture_kernel)) return fetchForeign(ctx);
    const binary = await findHostBusybox();
    const sha256 = await hashFile(binary);
    const { size } = await stat(binary);
    const { applets } = await populateBusyboxRoot(ctx.rootfs, binary);
    const version = await busyboxVersion(binary);
    log(ctx.sink, 'info', `busybox: ${binary}${version ? ` v${version}` : ''}, ${applets} applet links`);
    return {
      downloader: 'busybox',
      resolved: version ? { busybox_version: version } : {},
      inputs: [{ url: pathToFileURL(binary).href, sha256, size, verifiedBy: 'host' }],
    };
  },
};

/**
 * Another architecture's busybox: Debian's busybox-static package of that
 * architecture, from the host's suite and Debian mirror, as the host's own
 * busybox comes from its amd64 one.
 */
async function foreignPackage(ctx: ProbeContext): Promise<DebianPackage> {
  // Before any download: an architecture kiln cannot emulate stops here.
  emulatorFor(ctx.definition.image.architecture_kernel);
  const suite = ctx.step.source.suite || (await hostCodename());
  if (!suite)
    throw new SourceError('busybox: the host has no VERSION_CODENAME in /etc/os-release; set source.suite (bookworm)');
  const arch = productArchitecture(ctx.definition.image.architecture);
  return fetchDebianPackage(ctx, { name: 'busybox-static', arch, suite });
}

async function fetchForeign(ctx: SourceContext): Promise<SourceRecord> {
  const kernel = ctx.definition.image.architecture_kernel;
  const emulator = emulatorFor(kernel);
  if (!emulator) throw new SourceError(`busybox: ${kernel} is this host's architecture`);
  const pkg = await foreignPackage(ctx);
  const binary = path.join(ctx.workDir, 'busybox');
  await extractFromDeb(pkg.file, 'bin/busybox', binary, ctx.workDir);
  if (!(await isStaticElf(binary)))
    throw new SourceError(`busybox: bin/busybox of ${pkg.name} ${pkg.version} is not statically linked`);
  const runner = hostRunner(emulator);
  const { applets } = await populateBusyboxRoot(ctx.rootfs, binary, runner);
  const version = await busyboxVersion(binary, runner);
  log(ctx.sink, 'info', `busybox: ${pkg.name} ${pkg.version} (${kernel}), ${applets} applet links`);
  return {
    downloader: 'busybox',
    resolved: { ...(version ? { busybox_version: version } : {}), package: `${pkg.name}=${pkg.version}` },
    inputs: pkg.inputs,
  };
}

async function findHostBusybox(): Promise<string> {
  const seen: string[] = [];
  for (const candidate of [await findOnPath('busybox'), '/bin/busybox', '/usr/bin/busybox']) {
    if (!candidate || seen.includes(candidate)) continue;
    seen.push(candidate);
    try {
      if (await isStaticElf(candidate)) return candidate;
    } catch {
      // unreadable or missing: try the next one
    }
  }
  if (seen.length > 0) {
    throw new SourceError(
      `busybox: ${seen.join(', ')} is not a statically linked busybox; install the busybox-static package or set source.url to a busybox source tarball`,
    );
  }
  throw new SourceError(
    'busybox: no busybox found on PATH or in /bin; install the busybox-static package or set source.url',
  );
}
