import type { Generator } from './types.js';
import { removeInRoot } from '../file-ops.js';
import { requirePath } from './options.js';

/** rm -rf inside the image; a symlink is removed itself, never what it points at. */
export const remove: Generator = {
  name: 'remove',
  async run({ rootfs, entry, step }) {
    await removeInRoot(rootfs, requirePath(entry, step));
  },
};
