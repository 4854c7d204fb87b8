import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupTree, kilnTempDirs, mountPoints } from '../helpers/host-state.js';
import { KILN_BIN, ROOT, kiln } from '../helpers/kiln.js';
import { childrenNamed, waitFor } from '../runtime/fixtures.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-kill9-'));
});
const seen = new Set<number>();
afterAll(() => {
  // Only when the test failed: a stopped orphan must not outlive it.
  for (const p of seen) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const CUSTOM_MANAGER = [
  'packages:',
  '  custom_manager:',
  ...['clean', 'install', 'remove', 'refresh', 'update'].map((c) => `    ${c}: {cmd: "true"}`),
];

/** A busybox image with `action` as its one step. */
function definition(name: string, action: string[]): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'image:',
      '  distribution: busybox',
      '  release: "1.35"',
      'source:',
      '  downloader: busybox',
      'actions:',
      '- trigger: post-unpack',
      '  action: |-',
      '    #!/bin/sh',
      ...action.map((l) => `    ${l}`),
      ...CUSTOM_MANAGER,
      '',
    ].join('\n'),
  );
  return file;
}

/** Host processes as `ps` lists them: pid, parent, name and command line. */
async function ps(): Promise<{ pid: number; ppid: number; comm: string; args: string }[]> {
  const r = await execa('ps', ['-eo', 'pid=,ppid=,comm=,args=']);
  return r.stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), comm: m[3] as string, args: m[4] as string }));
}

/** Children of `pid` by name, read from /proc (fast enough to poll). */
function compressorsOf(pid: number): number[] {
  return ['xz', 'tar2sqfs', 'gensquashfs', 'zstd'].flatMap((n) => childrenNamed(pid, n));
}

describe('kill -9 of kiln build during pack, then the next build', () => {
  it('leaves no stale work dir, no orphaned compressor, no mount and no cgroup', async () => {
    const work = path.join(dir, 'work');
    // 64 MB of random bytes in the root: xz and tar2sqfs take seconds on it.
    const slow = definition('slow', ['head -c 67108864 /dev/urandom > /incompressible']);
    const build = execa('node', [KILN_BIN, 'build', slow, '--out', path.join(dir, 'out'), '--work-dir', work], {
      cwd: ROOT,
      reject: false,
      all: true,
    });
    const kilnPid = build.pid as number;
    const monitors = new Set<number>();
    const watcher = setInterval(() => {
      for (const p of compressorsOf(kilnPid)) seen.add(p);
      for (const p of childrenNamed(kilnPid, 'kiln-run')) monitors.add(p);
    }, 5);
    try {
      // A short-lived compressor (a small metadata tarball) may come and go first: wait for one still running.
      await waitFor('a compressor of the pack stage', () => [...seen].some((p) => existsSync(`/proc/${p}`)), 60_000);
    } finally {
      clearInterval(watcher);
    }
    // Stopped, a compressor cannot finish on its own after kiln is gone
    // (EOF on stdin, EPIPE on stdout): only being tied to kiln's death ends it.
    const stopped = [...seen].filter((p) => {
      try {
        process.kill(p, 'SIGSTOP');
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false; // it had finished
        throw e;
      }
    });
    expect(stopped.length).toBeGreaterThan(0);
    process.kill(kilnPid, 'SIGKILL');
    const killed = await build;
    expect(killed.signal).toBe('SIGKILL');

    // The compressors die with kiln (PR_SET_PDEATHSIG), at once.
    await waitFor('the compressors to die with kiln', () => [...seen].every((p) => !existsSync(`/proc/${p}`)), 5_000);
    // kiln had no chance to clean up: its work dir is still there, owned by the dead pid.
    const stale = kilnTempDirs(work);
    expect(stale).toHaveLength(1);
    expect(readFileSync(path.join(work, stale[0] as string, '.kiln-owner'), 'utf8')).toMatch(
      new RegExp(`^${kilnPid} \\d+\\n$`),
    );

    const next = await kiln([
      'build',
      definition('fast', ['true']),
      '--out',
      path.join(dir, 'out'),
      '--work-dir',
      work,
      '--formats',
      'lxc',
    ]);
    expect(next.exitCode).toBe(0);
    expect(next.all).toContain(`removed the work dir of a build that died: ${path.join(work, stale[0] as string)}`);

    expect(readdirSync(work)).toEqual([]);
    const left = (await ps()).filter((p) => seen.has(p.pid) || p.args.includes(dir) || p.ppid === kilnPid);
    expect(left).toEqual([]);
    expect(mountPoints().filter((m) => m.startsWith(dir))).toEqual([]);
    expect(cgroupTree().filter((c) => [...monitors].some((m) => c.includes(`kiln-run.${m}.`)))).toEqual([]);
  });
});
