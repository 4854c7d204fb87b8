import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../util/errors.js';

/**
 * The native runtime ships next to `dist/` (`native/kiln-run` in the
 * package), so it is found from this module's own location: running kiln
 * from another directory, or installed globally, finds the same binary.
 */
export function runtimeBinaryPath(): string {
  return fileURLToPath(new URL('../../native/kiln-run', import.meta.url));
}

/** The path of `native/kiln-run`; a KilnError when it was never built. */
export function findRuntimeBinary(): string {
  const binary = runtimeBinaryPath();
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new KilnError(`container runtime ${binary} is missing or not executable: run npm run build`);
  }
  return binary;
}
