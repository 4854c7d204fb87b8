import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Downloader, SourceContext, SourceRecord } from '../types.js';
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
  probe: (ctx) => probeHostBusybox(ctx, findHostBusybox),
  async fetch(ctx: SourceContext): Promise<SourceRecord> {
    if (ctx.step.source.url) {
      const { buildBusyboxFromSource } = await import('../busybox-build.js');
      return buildBusyboxFromSource(ctx);
    }
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
