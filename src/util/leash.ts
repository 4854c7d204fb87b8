import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KilnError } from './errors.js';

/** native/kiln-leash, next to dist/ as native/kiln-run is. */
export function leashBinaryPath(): string {
  return fileURLToPath(new URL('../../native/kiln-leash', import.meta.url));
}

let checked: string | undefined;

/**
 * The command line that runs `cmd args` on a leash: the tool gets
 * PR_SET_PDEATHSIG(SIGKILL) before its exec, so it dies with kiln even when
 * kiln is killed with SIGKILL (no xz or tar2sqfs left running under pid 1).
 */
export function leashed(cmd: string, args: readonly string[]): [string, string[]] {
  if (checked === undefined) {
    const binary = leashBinaryPath();
    try {
      accessSync(binary, constants.X_OK);
    } catch {
      throw new KilnError(`${binary} is missing or not executable: run npm run build`);
    }
    checked = binary;
  }
  return [checked, [String(process.pid), cmd, ...args]];
}
