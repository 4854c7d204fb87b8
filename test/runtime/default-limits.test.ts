import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLimits } from '../../src/runtime/index.js';
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

const sh = (script: string) => ['/bin/sh', '-c', script];
const MiB = 1024 * 1024;

/** The v1 (or v2) directories of the cgroup named after a monitor. */
function cgroupDirsOf(monitor: number): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 5) return;
    let entries: string[];
    try {
      entries = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.startsWith(`kiln-run.${monitor}.`)) found.push(path.join(d, e));
      else walk(path.join(d, e), depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

function readLimit(dirs: string[], ...files: string[]): string | undefined {
  for (const d of dirs)
    for (const f of files) {
      try {
        return readFileSync(path.join(d, f), 'utf8').trim();
      } catch {
        /* not this controller */
      }
    }
  return undefined;
}

describe('default limits of a step that asks for none', () => {
  it('stops a step writing 2 GB into /tmp at the default tmpfs size', async () => {
    const r = await run({
      rootfs: root,
      argv: sh('dd if=/dev/zero of=/tmp/big bs=1M count=2048; echo "dd=$?"; ls -l /tmp/big'),
    });
    expect(r.stdout).toContain('dd=1');
    expect(r.stderr).toMatch(/No space left on device/);
    // It got exactly the default size, not 2 GB of the host's memory.
    expect(r.stdout).toContain(` ${defaultLimits().tmpfsBytes} `);
  });

  it('puts a size= on every tmpfs of the container', async () => {
    const r = await run({ rootfs: root, argv: sh('grep " tmpfs " /proc/mounts') });
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[1]).sort()).toEqual(['/dev', '/dev/shm', '/run', '/tmp']);
    for (const l of lines) expect(l).toMatch(/size=\d+k/);
    expect(lines.find((l) => l.split(' ')[1] === '/tmp')).toContain(`size=${defaultLimits().tmpfsBytes / 1024}k`);
  });

  it('runs the step in a cgroup with the default memory and pids limits', async () => {
    const secs = uniqueSeconds();
    const running = run({ rootfs: root, argv: sh(`sleep ${secs}`), timeoutMs: 20_000 });
    let dirs: string[] = [];
    await waitFor('the cgroup of the step', () => {
      const monitors = childrenNamed(process.pid, 'kiln-run');
      dirs = monitors.flatMap(cgroupDirsOf);
      return processesWith('sleep', secs).length > 0 && dirs.length > 0;
    });
    const memory = readLimit(dirs, 'memory.limit_in_bytes', 'memory.max');
    const pids = readLimit(dirs, 'pids.max');
    for (const p of processesWith('sleep', secs)) process.kill(p, 'SIGKILL');
    await running;
    const d = defaultLimits();
    // The kernel rounds a v1 memory limit down to whole pages.
    expect(Number(memory)).toBe(Math.floor(d.memoryBytes / 4096) * 4096);
    expect(pids).toBe(String(d.pids));
  });

  it('lets the caller raise the tmpfs size', async () => {
    const r = await run({
      rootfs: root,
      limits: { tmpfsBytes: defaultLimits().tmpfsBytes + 64 * MiB },
      argv: sh(
        `dd if=/dev/zero of=/tmp/big bs=1M count=${defaultLimits().tmpfsBytes / MiB + 32} 2>/dev/null; echo "dd=$?"`,
      ),
    });
    expect(r.stdout).toBe('dd=0\n');
  });
});

describe('user namespaces', () => {
  it('`unshare -U -r true` fails in a step by default', async () => {
    const r = await run({ rootfs: root, argv: sh('unshare -U -r true; echo "rc=$?"') });
    expect(r.stdout).toBe('rc=1\n');
    expect(r.stderr).toMatch(/unshare.*Operation not permitted/);
  });

  it('other namespaces and plain forks still work', async () => {
    // A step as root without sys_admin may not unshare a mount namespace
    // anyway; what must keep working is clone without CLONE_NEWUSER.
    const r = await run({ rootfs: root, argv: sh('(echo child) & wait; echo parent') });
    expect(r.stdout).toBe('child\nparent\n');
  });

  it('works when the caller allows user namespaces', async () => {
    const r = await run({
      rootfs: root,
      allowUserNamespaces: true,
      argv: sh('unshare -U -r sh -c "id -u"; echo "rc=$?"'),
    });
    expect(r.stdout).toBe('0\nrc=0\n');
  });
});
