import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { UnsafeArchiveError } from './errors.js';

/**
 * The host path of `rel` inside `root`, refusing any symlink on the way
 * (an unpacked upstream root must not redirect kiln's own writes outside
 * it). With `create`, missing directories are made (0755).
 */
export async function safeRootPath(
  root: string,
  rel: string,
  opts: { create?: 'dirs' | 'parents' } = {},
): Promise<string> {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`${rel}: ".." is not allowed in a path inside the root`);
  let cur = root;
  for (const [i, part] of parts.entries()) {
    cur = path.join(cur, part);
    const last = i === parts.length - 1;
    let st;
    try {
      st = await lstat(cur);
    } catch {
      if (opts.create === 'dirs' || (opts.create === 'parents' && !last)) {
        await mkdir(cur, { mode: 0o755 });
        continue;
      }
      if (last) return cur;
      throw new UnsafeArchiveError(`/${parts.slice(0, i + 1).join('/')}: missing in the root`);
    }
    if (st.isSymbolicLink())
      throw new UnsafeArchiveError(
        `/${parts.slice(0, i + 1).join('/')} is a symlink in the root; kiln does not write through it`,
      );
    if (!last && !st.isDirectory())
      throw new UnsafeArchiveError(`/${parts.slice(0, i + 1).join('/')} is not a directory in the root`);
  }
  return cur;
}
