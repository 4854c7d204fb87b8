import type { RuntimeSection } from '../definition/types.js';
import { parseSize } from '../runtime/parse-size.js';
import type { RunSpec } from '../runtime/types.js';

/**
 * The definition's `runtime` section as RunSpec fields. What it leaves out
 * keeps the runtime's default (src/runtime/default-limits.ts): a step is
 * bounded whether or not its definition says anything.
 */
export function stepRuntime(section: RuntimeSection | undefined): Pick<RunSpec, 'limits' | 'allowUserNamespaces'> {
  const limits: NonNullable<RunSpec['limits']> = {};
  if (section?.memory !== undefined) limits.memoryBytes = parseSize(section.memory, 'runtime.memory');
  if (section?.pids !== undefined) limits.pids = section.pids;
  if (section?.tmpfs !== undefined) limits.tmpfsBytes = parseSize(section.tmpfs, 'runtime.tmpfs');
  return { limits, ...(section?.user_namespaces ? { allowUserNamespaces: true } : {}) };
}
