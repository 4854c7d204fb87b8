import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupTree, mountPoints } from '../helpers/host-state.js';
import { KILN_BIN, ROOT } from '../helpers/kiln.js';
import {
  childrenNamed,
  makeBusyboxRoot,
  processesWith,
  removeDir,
  run,
  scratchDir,
  uniqueSeconds,
  waitFor,
} from './fixtures.js';

let dir: string;
let root: string;

beforeAll(() => {
  dir = scratchDir();
  root = makeBusyboxRoot(dir);
});
afterAll(() => removeDir(dir));

interface Snapshot {
  mounts: string[];
  cgroups: string[];
}

const snapshot = (): Snapshot => ({ mounts: mountPoints(), cgroups: cgroupTree() });

/** Collects the kiln-run monitors started by `parent` until stopped. */
function watchMonitors(parent: () => number | undefined): { pids: Set<number>; stop: () => void } {
  const pids = new Set<number>();
  const timer = setInterval(() => {
    const p = parent();
    if (p !== undefined) for (const m of childrenNamed(p, 'kiln-run')) pids.add(m);
  }, 5);
  return { pids, stop: () => clearInterval(timer) };
}

/**
 * Other people's tests run on this machine at the same time, so only the
 * differences that can be ours count: a mount under our scratch dir or a
 * cgroup named after one of our monitors.
 */
function expectHostAsBefore(before: Snapshot, monitors: Set<number>): void {
  const after = snapshot();
  const added = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  const ours = (entry: string) =>
    entry.includes(dir) || [...monitors].some((pid) => entry.includes(`kiln-run.${pid}.`));
  expect(added(before.mounts, after.mounts).filter(ours)).toEqual([]);
  expect(added(before.cgroups, after.cgroups).filter(ours)).toEqual([]);
  expect(after.mounts.filter((m) => m.includes(dir))).toEqual([]);
  expect(after.cgroups.filter(ours)).toEqual([]);
}

async function inProcessRun(script: string, extra: { timeoutMs?: number } = {}) {
  const before = snapshot();
  const w = watchMonitors(() => process.pid);
  try {
    const result = await run({
      rootfs: root,
      argv: ['/bin/sh', '-c', script],
      limits: { memoryBytes: 64 << 20, pids: 64 },
      ...extra,
    });
    return { before, result, monitors: w.pids };
  } finally {
    w.stop();
  }
}

describe('nothing is left behind', () => {
  it('after a normal exit', async () => {
    const secs = uniqueSeconds();
    const { before, result, monitors } = await inProcessRun(`sleep ${secs} & sleep 0.3; exit 0`);
    expect(result.end).toEqual({ kind: 'exited', exitCode: 0 });
    expect(monitors.size).toBe(1);
    expectHostAsBefore(before, monitors);
    expect(processesWith('sleep', secs)).toEqual([]);
  });

  it('after a failing step', async () => {
    const secs = uniqueSeconds();
    const { before, result, monitors } = await inProcessRun(`sleep ${secs} & sleep 0.3; exit 3`);
    expect(result.end).toEqual({ kind: 'exited', exitCode: 3 });
    expectHostAsBefore(before, monitors);
    expect(processesWith('sleep', secs)).toEqual([]);
  });

  it('after a container that could not be set up', async () => {
    const before = snapshot();
    await expect(run({ rootfs: root, cwd: '/missing', argv: ['true'], limits: { pids: 10 } })).rejects.toThrow(
      /chdir \/missing/,
    );
    expectHostAsBefore(before, new Set());
  });

  it('after a timeout', async () => {
    const secs = uniqueSeconds();
    const { before, result, monitors } = await inProcessRun(`(sleep ${secs} &); sleep ${secs}`, { timeoutMs: 500 });
    expect(result.end).toEqual({ kind: 'timeout' });
    expectHostAsBefore(before, monitors);
    expect(processesWith('sleep', secs)).toEqual([]);
  });

  it('after an abort through the AbortSignal', async () => {
    const secs = uniqueSeconds();
    const before = snapshot();
    const ac = new AbortController();
    const w = watchMonitors(() => process.pid);
    const running = run({ rootfs: root, argv: ['/bin/sh', '-c', `sleep ${secs} & sleep ${secs}`], signal: ac.signal });
    await waitFor('the step', () => processesWith('sleep', secs).length === 2);
    ac.abort();
    const result = await running;
    w.stop();
    expect(result.end).toEqual({ kind: 'aborted' });
    expectHostAsBefore(before, w.pids);
    expect(processesWith('sleep', secs)).toEqual([]);
  });

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`after ${signal} to a \`kiln run\` process`, async () => {
      const secs = uniqueSeconds();
      const before = snapshot();
      const cli = execa(
        'node',
        [
          KILN_BIN,
          'run',
          root,
          '--memory',
          '64M',
          '--pids',
          '50',
          '--',
          '/bin/sh',
          '-c',
          `sleep ${secs} & sleep ${secs}`,
        ],
        {
          cwd: ROOT,
          reject: false,
        },
      );
      const w = watchMonitors(() => cli.pid);
      await waitFor('the step', () => processesWith('sleep', secs).length === 2);
      cli.kill(signal);
      const result = await cli;
      if (signal === 'SIGINT') expect(result.exitCode).toBe(130);
      else expect(result.signal).toBe('SIGKILL');
      // With kiln gone, its monitor (PDEATHSIG) removes everything, then exits.
      await waitFor('the monitor to finish', () => [...w.pids].every((p) => !existsSync(`/proc/${p}`)));
      w.stop();
      expect(w.pids.size).toBe(1);
      expectHostAsBefore(before, w.pids);
      expect(processesWith('sleep', secs)).toEqual([]);
    });
  }

  it('after SIGKILL to the runtime itself: the step dies with it and the next run removes the stale cgroup', async () => {
    const secs = uniqueSeconds();
    const before = snapshot();
    const w = watchMonitors(() => process.pid);
    const running = run({
      rootfs: root,
      argv: ['/bin/sh', '-c', `sleep ${secs} & sleep ${secs}`],
      limits: { pids: 50 },
    });
    await waitFor('the step', () => processesWith('sleep', secs).length === 2);
    const [monitor] = [...w.pids];
    w.stop();
    process.kill(monitor as number, 'SIGKILL');
    await expect(running).rejects.toThrow(/killed by SIGKILL/);
    await waitFor('the step to die with its init', () => processesWith('sleep', secs).length === 0);
    expect(cgroupTree().filter((c) => c.includes(`kiln-run.${monitor}.`)).length).toBeGreaterThan(0);

    // (A concurrent run elsewhere on the machine may have removed it first.)
    const next = await run({ rootfs: root, argv: ['true'] });
    expect(next.end).toEqual({ kind: 'exited', exitCode: 0 });
    expectHostAsBefore(before, new Set([monitor as number]));
  });
});
