import { access, constants, realpath } from 'node:fs/promises';
import path from 'node:path';

/** Absolute path of an executable found on PATH (then in `extra` dirs), or undefined. */
export async function findOnPath(name: string, extra: string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...extra];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return await realpath(candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}
