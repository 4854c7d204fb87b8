import os from 'node:os';
import path from 'node:path';

/** `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`: where downloads are kept between builds. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln');
}
