import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Tests that start the CLI run the compiled `dist/` and `native/kiln-run`, so
 * build both once before any test file runs. Type errors are reported by
 * `npm run typecheck` (part of `npm test`); here JS is emitted regardless so
 * one half-edited module does not stop every other test.
 *
 * It also names the run, so slow builds shared between test files
 * (test/helpers/shared-builds.ts) are made once and removed at the end.
 */
export default function setup(): () => void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? '';
    process.stderr.write(`global-setup: tsc reported errors (JS emitted anyway):\n${out.slice(0, 4000)}\n`);
  }
  try {
    execFileSync('make', ['-s', '-C', 'native'], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    // Tests that start containers fail on their own with a clear message.
    const err = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
    process.stderr.write(`global-setup: native/kiln-run did not build:\n${err.slice(0, 4000)}\n`);
  }
  const run = `${process.pid}-${Date.now()}`;
  process.env.KILN_TEST_RUN = run;
  return () => {
    rmSync(path.join(os.tmpdir(), `kiln-shared-${run}`), { recursive: true, force: true });
  };
}
