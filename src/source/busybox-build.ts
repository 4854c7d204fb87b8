import type { SourceContext, SourceRecord } from './types.js';
import { SourceError } from './errors.js';

/** Placeholder until the source-build form lands. */
export async function buildBusyboxFromSource(ctx: SourceContext): Promise<SourceRecord> {
  throw new SourceError(`busybox: building from source.url ${ctx.step.source.url} is not supported yet`);
}
