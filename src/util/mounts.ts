import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Mount points strictly below `dir` in this mount namespace, newest first
 * (mountinfo lists mounts in the order they were made, so this order
 * unmounts an over-mount before what it hides).
 */
export async function mountsUnder(dir: string): Promise<string[]> {
  // mountinfo names the real path: a symlinked TMPDIR must still match.
  const real = await realpath(dir).catch(() => path.resolve(dir));
  const prefix = `${real}/`;
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMountPath)
    .filter((p) => p.startsWith(prefix));
  return [...new Set(points.reverse())];
}

/**
 * Detaches whatever a killed or failed host tool left mounted below `dir`
 * (debootstrap mounts proc, sys and devpts in its target and unmounts them
 * only when it exits on its own), so removing the directory never walks into
 * the host's proc or sysfs. Returns what it detached.
 */
export async function detachMountsUnder(dir: string): Promise<string[]> {
  const detached: string[] = [];
  // A few rounds: detaching an over-mount uncovers the mount it hid.
  for (let round = 0; round < 8; round++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) break;
    let progress = false;
    for (const p of points) {
      // --lazy: a process still inside must not keep the build from cleaning up.
      const r = await execa('umount', ['--lazy', p], { reject: false });
      if (r.exitCode === 0) {
        detached.push(p);
        progress = true;
      }
    }
    if (!progress) break;
  }
  return detached;
}
