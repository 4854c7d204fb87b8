import type { Definition } from './types.js';

/**
 * The template context: the whole definition under its YAML key names, with
 * empty values left out (distrobuilder marshals with `omitempty`, so an
 * empty field renders as "" and `{% if x %}` is false).
 */
export function templateContext(def: Definition): Record<string, unknown> {
  return (prune(def) as Record<string, unknown> | undefined) ?? {};
}

function prune(v: unknown): unknown {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return undefined;
  if (Array.isArray(v)) {
    const items = v.map(prune).filter((x) => x !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const p = prune(x);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v;
}
