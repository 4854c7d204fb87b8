/**
 * Every step runs under a syscall deny list (native/seccomp.c): what no
 * namespace isolates fails with EPERM, keyrings with ENOSYS (callers fall
 * back), through the 32-bit ABI as well. The same probe run on the host is
 * the control: there the calls reach the kernel and fail on their bad
 * arguments instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRoot, removeDir, run, scratchDir } from './fixtures.js';

const PROBE_SOURCE = fileURLToPath(new URL('./probes/syscalls.c', import.meta.url));

let dir: string;
let root: string;
let host: Record<string, string>;

const parse = (out: string): Record<string, string> =>
  Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );

beforeAll(() => {
  dir = scratchDir();
  root = makeBusyboxRoot(dir);
  mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
  const probe = path.join(root, 'usr/local/bin/syscalls');
  execFileSync('cc', ['-static', '-O1', '-o', probe, PROBE_SOURCE]);
  host = parse(execFileSync(probe, { encoding: 'utf8' }));
});
afterAll(() => removeDir(dir));

describe('the seccomp deny list', () => {
  it('stops open_by_handle_at (the "shocker" escape) although the step keeps dac_read_search', async () => {
    const r = await run({ rootfs: root, argv: ['/usr/local/bin/syscalls'] });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 0 });
    const inside = parse(r.stdout);
    expect(host.open_by_handle_at).not.toBe('EPERM');
    expect(inside.open_by_handle_at).toBe('EPERM');
    expect(host.perf_event_open).not.toBe('EPERM');
    expect(inside.perf_event_open).toBe('EPERM');
    expect(inside.init_module).toBe('EPERM');
    expect(inside.getpid).toBe('ok');
  });

  it('answers keyring calls with ENOSYS', async () => {
    const inside = parse((await run({ rootfs: root, argv: ['/usr/local/bin/syscalls'] })).stdout);
    expect(host.keyctl).not.toBe('ENOSYS');
    expect(inside.keyctl).toBe('ENOSYS');
  });

  it('answers keyring calls with ENOSYS through the i386 ABI of an x86_64 step too', async (ctx) => {
    // A kernel booted without ia32 emulation has no int 0x80 entry at all:
    // then there is no 32-bit path to close and nothing to show.
    if (process.arch !== 'x64' || host['keyctl-i386'] === 'no-i386-abi') {
      ctx.skip('this kernel has no i386 syscall entry');
    }
    const inside = parse((await run({ rootfs: root, argv: ['/usr/local/bin/syscalls'] })).stdout);
    expect(host['keyctl-i386']).not.toBe('ENOSYS');
    expect(inside['keyctl-i386']).toBe('ENOSYS');
  });

  it('holds for a step that asked for every capability', async () => {
    const inside = parse(
      (await run({ rootfs: root, argv: ['/usr/local/bin/syscalls'], capabilities: ['all'] })).stdout,
    );
    expect(inside.open_by_handle_at).toBe('EPERM');
    expect(inside.keyctl).toBe('ENOSYS');
  });
});
