import type { SourceContext, SourceRecord } from './types.js';
import { downloaders } from './downloaders/index.js';
import { SourceError } from './errors.js';

export { SourceError, VerificationError, UnsafeArchiveError } from './errors.js';
export { downloaders } from './downloaders/index.js';

/**
 * Runs the plan's source step: fills `ctx.rootfs` (an empty directory the
 * caller owns and keeps) with the upstream root and returns what was fetched.
 */
export async function fetchSource(ctx: SourceContext): Promise<SourceRecord> {
  const name = ctx.step.downloader;
  const downloader = downloaders.get(name);
  if (!downloader) {
    const known = [...downloaders.keys()].sort().join(', ');
    throw new SourceError(`source.downloader: unknown downloader "${name}"; known downloaders: ${known}`);
  }
  return downloader.fetch(ctx);
}
