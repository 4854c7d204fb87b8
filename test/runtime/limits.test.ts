import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRoot, processesWith, removeDir, run, scratchDir, uniqueSeconds } from './fixtures.js';

let dir: string;
let root: string;

beforeAll(() => {
  dir = scratchDir();
  root = makeBusyboxRoot(dir);
});
afterAll(() => removeDir(dir));

const sh = (script: string) => ['/bin/sh', '-c', script];

describe('resource limits', () => {
  it('kills a step that allocates past --memory and reports it as out of memory', async () => {
    const r = await run({
      rootfs: root,
      limits: { memoryBytes: 32 * 1024 * 1024 },
      // A shell variable of ~200 MB: far past the limit.
      argv: sh('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'),
    });
    expect(r.end).toEqual({ kind: 'oom' });
    expect(r.exitCode).toBe(137);
    expect(r.stdout).not.toContain('survived');
  });

  it('lets a step within --memory finish normally', async () => {
    const r = await run({
      rootfs: root,
      limits: { memoryBytes: 64 * 1024 * 1024 },
      argv: sh('x=$(head -c 1000000 /dev/zero | tr "\\0" a); echo ${#x}'),
    });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 0 });
    expect(r.stdout).toBe('1000000\n');
  });

  it('stops a fork bomb at --pids', async () => {
    // The counter is started before the bomb and uses shell builtins only,
    // so it still works once no process can fork any more.
    const script = [
      '(sleep 1.5; set -- /proc/[0-9]*; echo $# > /tmp/count) &',
      'sleep 0.2',
      'bomb() { bomb & bomb & sleep 3; }',
      'bomb 2>/tmp/errors &',
      'while [ ! -s /tmp/count ]; do :; done',
      'read n < /tmp/count; echo $n',
      'read e < /tmp/errors; echo "$e"',
      'kill -9 -1',
    ].join('\n');
    const r = await run({ rootfs: root, limits: { pids: 32 }, timeoutMs: 30_000, script });
    const [count, firstError] = r.stdout.trim().split('\n');
    expect(r.end.kind).not.toBe('timeout');
    // It did run into the limit, and never had more processes than allowed.
    expect(firstError).toMatch(/can't fork/);
    expect(Number(count)).toBeGreaterThanOrEqual(10);
    expect(Number(count)).toBeLessThanOrEqual(32);
  });

  it('kills the whole tree on --timeout and reports a timeout', async () => {
    const secs = uniqueSeconds();
    const started = Date.now();
    const r = await run({
      rootfs: root,
      timeoutMs: 700,
      argv: sh(`sleep ${secs} & (sleep ${secs} &) ; sleep ${secs}`),
    });
    expect(r.end).toEqual({ kind: 'timeout' });
    expect(r.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(processesWith('sleep', secs)).toEqual([]);
  });

  it("applies --cpus as a CFS quota in the step's cgroup", async () => {
    // One busy loop with 0.25 cpus for 1 s of wall time gets about 0.25 s of CPU.
    const r = await run({
      rootfs: root,
      limits: { cpus: 0.25 },
      argv: sh('(while :; do :; done) & pid=$!; sleep 1; kill $pid; wait $pid; cat /proc/stat >/dev/null; times'),
    });
    const times = r.stdout.trim().split('\n').pop() ?? '';
    const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(times);
    expect(m).not.toBeNull();
    const cpu = Number(m?.[1]) * 60 + Number(m?.[2]) + Number(m?.[3]) * 60 + Number(m?.[4]);
    expect(cpu).toBeGreaterThan(0.05);
    expect(cpu).toBeLessThan(0.6);
  });
});
