import { matchesFilters, PHASE_MASKS } from '../definition/filters.js';
import type { LxcConfigEntry, ResolvedDefinition } from '../definition/types.js';
import type { FieldRenderer } from './render.js';

/** The newest LXC compat level distrobuilder and lxc-ci write (definitions-spec 1.4). */
export const MAX_COMPAT_LEVEL = 5;

/**
 * The compat levels an entry goes to: `before: 0` means no upper bound;
 * with after < before, the levels strictly between; otherwise the levels
 * below `before` or above `after`.
 */
export function compatLevels(entry: Pick<LxcConfigEntry, 'before' | 'after'>): number[] {
  const before = entry.before && entry.before > 0 ? entry.before : MAX_COMPAT_LEVEL + 1;
  const after = entry.after ?? 0;
  const out: number[] = [];
  for (let level = 1; level <= MAX_COMPAT_LEVEL; level++) {
    const inside = after < before ? level > after && level < before : level < before || level > after;
    if (inside) out.push(level);
  }
  return out;
}

/**
 * meta.tar.xz config files: `config` and `config-user` for level 5,
 * `config.N` and `config-user.N` for older levels; only files that get
 * content exist. Entries append in definition order, rendered, each ending
 * with a newline.
 */
export function lxcConfigFiles(def: ResolvedDefinition, render: FieldRenderer): Record<string, string> {
  const files = new Map<string, string>();
  (def.targets?.lxc?.config ?? []).forEach((entry, i) => {
    if (!matchesFilters(entry, def, PHASE_MASKS.lxcConfig)) return;
    const kinds =
      entry.type === 'all'
        ? ['config', 'config-user']
        : entry.type === 'system'
          ? ['config']
          : entry.type === 'user'
            ? ['config-user']
            : [];
    if (kinds.length === 0) return;
    let content = render(entry.content ?? '', `targets.lxc.config[${i}].content`);
    if (!content.endsWith('\n')) content += '\n';
    for (const level of compatLevels(entry)) {
      for (const kind of kinds) {
        const name = level === MAX_COMPAT_LEVEL ? kind : `${kind}.${level}`;
        files.set(name, (files.get(name) ?? '') + content);
      }
    }
  });
  return Object.fromEntries([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
