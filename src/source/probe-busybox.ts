import type { ProbeContext, SourceIdentity } from './types.js';
import { hashFile } from './hash.js';

/** The host busybox is the whole source: its digest identifies the root. */
export async function probeHostBusybox(
  ctx: ProbeContext,
  findHostBusybox: () => Promise<string>,
): Promise<SourceIdentity | undefined> {
  if (ctx.step.source.url) return undefined;
  const binary = await findHostBusybox();
  return { parts: { [binary]: await hashFile(binary) } };
}
