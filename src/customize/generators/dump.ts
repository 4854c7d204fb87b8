import type { Generator } from './types.js';
import { writeFileInRoot } from '../file-ops.js';
import { requirePath, withNewline, writeOptions } from './options.js';

/** Writes `content` to `path`; `templated: true` lets LXC substitute LXC_NAME & co in it. */
export const dump: Generator = {
  name: 'dump',
  async run({ rootfs, entry, step, metadata }) {
    const path = requirePath(entry, step);
    await writeFileInRoot(rootfs, path, withNewline(entry.content ?? ''), writeOptions(entry, step));
    if (entry.templated) metadata.lxcTemplates.push(path);
  },
};
