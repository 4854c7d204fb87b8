import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunResult, RunSpec } from '../../src/runtime/types.js';
import { runInContainer } from '../../src/runtime/index.js';

/** A unique scratch dir for one test file: `<tmp>/kiln-runtime-XXXX`. */
export function scratchDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'kiln-runtime-'));
}

/**
 * A minimal root: the host's static busybox at /bin/busybox and one symlink
 * per applet, as `busybox --list-full` names them.
 */
export function makeBusyboxRoot(dir: string): string {
  const root = path.join(dir, 'rootfs');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  execFileSync('chmod', ['755', path.join(root, 'bin/busybox')]);
  const applets = execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(path.join(root, path.dirname(applet)), { recursive: true });
    symlinkSync('/bin/busybox', path.join(root, applet));
  }
  // Mount points, as every real image has them (a user-namespace root
  // could not create them in a root-owned tree).
  for (const d of ['etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'mnt'])
    mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, 'etc/resolv.conf'), '# image resolv.conf\n');
  return root;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Captured extends RunResult {
  stdout: string;
  stderr: string;
}

/** runInContainer with the output collected per stream. */
export async function run(spec: RunSpec): Promise<Captured> {
  const out = { stdout: '', stderr: '' };
  const result = await runInContainer({
    ...spec,
    onOutput: (stream, chunk) => {
      out[stream] += chunk.toString('utf8');
      spec.onOutput?.(stream, chunk);
    },
  });
  return { ...result, ...out };
}

/** pids of host processes whose command line contains every given word. */
export function processesWith(...words: string[]): number[] {
  const found: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (words.every((w) => argv.includes(w))) found.push(Number(e));
  }
  return found;
}

/** The children of pid named `comm` (e.g. the kiln-run monitor of a CLI). */
export function childrenNamed(pid: number, comm: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid && name === comm) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A number no other test uses: `sleep <n>` is then a findable marker. */
export function uniqueSeconds(): string {
  return String(800_000 + Math.floor(Math.random() * 100_000));
}
