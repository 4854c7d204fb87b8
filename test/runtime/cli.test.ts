import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { kiln, KILN_BIN } from '../helpers/kiln.js';
import { makeBusyboxRoot, removeDir, scratchDir } from './fixtures.js';

let dir: string;
let root: string;

beforeAll(() => {
  dir = scratchDir();
  root = makeBusyboxRoot(dir);
});
afterAll(() => removeDir(dir));

describe('kiln run', () => {
  it("exits with the command's exit code and passes its output through", async () => {
    const r = await kiln([
      'run',
      root,
      '--hostname',
      'cli-box',
      '--',
      '/bin/sh',
      '-c',
      'hostname; echo oops >&2; exit 42',
    ]);
    expect(r.exitCode).toBe(42);
    expect(r.stdout).toBe('cli-box');
    expect(r.stderr).toBe('oops');
  });

  it('passes arguments after -- untouched, even ones that look like kiln options', async () => {
    // (kiln's own --help/-h/--json are still spotted anywhere by src/cli/main.ts.)
    const r = await kiln(['run', root, '--', 'echo', '--memory', '--pids', '-x']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('--memory --pids -x');
  });

  it('passes the step no file descriptor but stdin, stdout and stderr, even ones kiln inherited', async () => {
    // fds 3 and 4 reach the kiln process without close-on-exec.
    const r = await execa('node', [KILN_BIN, 'run', root, '--', 'ls', '/proc/self/fd'], {
      reject: false,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    // 3 is the directory ls itself is reading.
    expect(r.stdout).toBe('0\n1\n2\n3');
  });

  it('binds SRC:DST read-only and SRC:DST:rw read-write, sets env and cwd', async () => {
    const src = path.join(dir, 'share');
    mkdirSync(src);
    writeFileSync(path.join(src, 'in'), 'hello\n');
    const r = await kiln([
      'run',
      root,
      '--bind',
      `${src}:/mnt/ro`,
      '--bind',
      `${src}:/mnt/rw:rw`,
      '--env',
      'GREETING=hi',
      '--cwd',
      '/mnt/rw',
      '--',
      '/bin/sh',
      '-c',
      'cat /mnt/ro/in; touch /mnt/ro/x 2>/dev/null || echo ro; echo "$GREETING" > out; pwd',
    ]);
    expect(r.stdout).toBe('hello\nro\n/mnt/rw');
    expect(readFileSync(path.join(src, 'out'), 'utf8')).toBe('hi\n');
  });

  it('exits 124 on --timeout and 137 when --memory is exceeded', async () => {
    const t = await kiln(['run', root, '--timeout', '0.5', '--', 'sleep', '30']);
    expect(t.exitCode).toBe(124);
    expect(t.stderr).toContain('timed out after 0.5s');
    const m = await kiln([
      'run',
      root,
      '--memory',
      '24M',
      '--',
      '/bin/sh',
      '-c',
      'x=$(head -c 100000000 /dev/zero | tr "\\0" a)',
    ]);
    expect(m.exitCode).toBe(137);
    expect(m.stderr).toContain('out of memory');
  });

  it('runs on an overlay without changing the rootfs', async () => {
    const upper = path.join(dir, 'cli-upper');
    const r = await kiln(['run', root, '--overlay', upper, '--', '/bin/sh', '-c', 'echo x > /etc/new && cat /etc/new']);
    expect(r.stdout).toBe('x');
    expect(readFileSync(path.join(upper, 'etc/new'), 'utf8')).toBe('x\n');
  });

  it('reports usage mistakes with exit code 2 and a one-line reason', async () => {
    for (const [args, reason] of [
      [['run', root, 'true'], "put the command after '--'"],
      [['run', root, '--'], 'no command'],
      [['run', root, '--memory', 'lots', '--', 'true'], "--memory 'lots'"],
      [['run', root, '--network', 'bridge', '--', 'true'], "--network 'bridge'"],
      [['run', root, '--bind', 'nocolon', '--', 'true'], "--bind 'nocolon'"],
    ] as const) {
      const r = await kiln([...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(reason);
      expect(r.stderr).not.toContain('    at ');
    }
  });

  it('names a rootfs that does not exist', async () => {
    const r = await kiln(['run', path.join(dir, 'missing'), '--', 'true']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/rootfs .*missing: not a directory/);
  });
});
