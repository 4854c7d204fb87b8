import type { SourceContext } from './types.js';
import { unpackArchive, type UnpackResult } from './unpack/index.js';

/**
 * Unpacks a downloaded archive into the build's root under the build's
 * limits, progress sink and abort signal. It is the one place a downloader's
 * context becomes unpack options, so a new limit reaches every downloader.
 */
export function unpackIntoRoot(
  ctx: SourceContext,
  file: string,
  task: string,
  opts: { layer?: boolean } = {},
): Promise<UnpackResult> {
  return unpackArchive(file, ctx.rootfs, { ...opts, sink: ctx.sink, signal: ctx.signal, limits: ctx.limits, task });
}
