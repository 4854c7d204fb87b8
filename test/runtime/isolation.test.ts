import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRoot, removeDir, run, scratchDir } from './fixtures.js';

let dir: string;
let root: string;
let secret: string;

beforeAll(() => {
  dir = scratchDir();
  root = makeBusyboxRoot(dir);
  // A host file next to the rootfs that no step may read.
  secret = path.join(dir, 'host-secret');
  writeFileSync(secret, 'host only\n');
  symlinkSync(secret, path.join(root, 'absolute-link'));
  symlinkSync('../../../../../../../../host-secret', path.join(root, 'relative-link'));
});
afterAll(() => removeDir(dir));

const sh = (script: string) => ['/bin/sh', '-c', script];

describe('inside the container', () => {
  it("pid 1 is kiln's reaping init and the step is its child", async () => {
    const r = await run({ rootfs: root, argv: sh('cat /proc/1/comm; echo $$; cat /proc/$$/status | grep PPid') });
    expect(r.stdout.split('\n')).toEqual(['kiln-init', '2', 'PPid:\t1', '']);
    expect(r.end).toEqual({ kind: 'exited', exitCode: 0 });
  });

  it('reaps orphans: a daemonised grandchild does not stay a zombie', async () => {
    const r = await run({
      rootfs: root,
      argv: sh('(sleep 0.2 &) ; sleep 0.5; ps -o stat,comm | grep -c "^Z" || true'),
    });
    expect(r.stdout.trim()).toBe('0');
  });

  it('has the requested hostname, and `kiln` by default', async () => {
    expect((await run({ rootfs: root, hostname: 'builder-1', argv: ['hostname'] })).stdout).toBe('builder-1\n');
    expect((await run({ rootfs: root, argv: ['hostname'] })).stdout).toBe('kiln\n');
  });

  it('shows only its own processes in /proc', async () => {
    const r = await run({ rootfs: root, argv: sh('ls /proc | grep -E "^[0-9]+$"') });
    const pids = r.stdout.trim().split('\n').map(Number);
    expect(pids.length).toBeLessThanOrEqual(4);
    expect(pids).toContain(1);
    expect(pids).not.toContain(process.pid);
  });

  it('cannot reach host files through .., absolute or relative symlinks, /proc/1/root or the rootfs path', async () => {
    const r = await run({
      rootfs: root,
      cwd: '/bin',
      argv: sh(
        [
          `cat ../../../../../../host-secret`,
          `cat /../host-secret`,
          `cat /absolute-link`,
          `cat /relative-link`,
          `cat /proc/1/root${secret}`,
          `cat /proc/self/root${secret}`,
          `ls ${root}/bin/busybox`,
          `ls /proc/1/root${dir}`,
          `cat ${secret}`,
        ]
          .map((c) => `${c} 2>/dev/null && echo LEAK: ${c}`)
          .join('; ') + '; echo done',
      ),
    });
    expect(r.stdout).toBe('done\n');
    // The image's symlinks are not changed by the run either.
    expect(readFileSync(secret, 'utf8')).toBe('host only\n');
  });

  it('sees /sys and /proc/sys read-only, even as root', async () => {
    const r = await run({
      rootfs: root,
      argv: sh(
        'grep -E " /sys | /proc/sys " /proc/self/mountinfo | cut -d" " -f5,6; echo 1 > /sys/kernel/profiling 2>&1 || echo sys-denied; echo x > /proc/sys/kernel/domainname || echo procsys-denied',
      ),
    });
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('sys-denied');
    expect(lines).toContain('procsys-denied');
    for (const l of lines.filter((x) => x.startsWith('/'))) expect(l).toMatch(/ ro,/);
  });

  it('with --network none has only lo, and lo is up', async () => {
    const r = await run({ rootfs: root, network: 'none', argv: sh('ls /sys/class/net; ip -o link | grep -c UP') });
    expect(r.stdout).toBe('lo\n1\n');
  });

  it('with --network host shares the host interfaces and binds the host resolv.conf read-only', async () => {
    const r = await run({
      rootfs: root,
      network: 'host',
      argv: sh('ls /sys/class/net; cat /etc/resolv.conf; echo x >> /etc/resolv.conf || echo ro'),
    });
    expect(r.stdout.split('\n').filter((l) => readdirSync('/sys/class/net').includes(l)).length).toBe(
      readdirSync('/sys/class/net').length,
    );
    expect(r.stdout).toContain(readFileSync('/etc/resolv.conf', 'utf8'));
    expect(r.stdout.trim().endsWith('ro')).toBe(true);
    expect(readFileSync(path.join(root, 'etc/resolv.conf'), 'utf8')).toBe('# image resolv.conf\n');
  });

  it('has a minimal /dev, a private /dev/pts, and tmpfs on /dev/shm, /run and /tmp', async () => {
    const r = await run({
      rootfs: root,
      argv: sh(
        'ls /dev | tr "\\n" " "; echo; head -c 4 /dev/zero | wc -c; echo hi > /dev/null && echo null-ok; ls /dev/pts; grep -E " /(dev/shm|run|tmp|dev/pts) " /proc/self/mountinfo | cut -d" " -f5,9',
      ),
    });
    const [devList, zeroes, nullOk, ptmx, ...mounts] = r.stdout.trim().split('\n');
    expect(devList?.trim().split(' ').sort()).toEqual(
      [
        'fd',
        'full',
        'null',
        'ptmx',
        'pts',
        'random',
        'shm',
        'stderr',
        'stdin',
        'stdout',
        'tty',
        'urandom',
        'zero',
      ].sort(),
    );
    expect(zeroes).toBe('4');
    expect(nullOk).toBe('null-ok');
    expect(ptmx).toBe('ptmx');
    expect(mounts.sort()).toEqual(['/dev/pts devpts', '/dev/shm tmpfs', '/run tmpfs', '/tmp tmpfs']);
    expect(existsSync(path.join(root, 'dev/null'))).toBe(false);
  });

  it('gets only the environment the spec passes, in the requested working directory', async () => {
    const r = await run({
      rootfs: root,
      env: { PATH: '/bin', ONLY: 'this' },
      cwd: '/usr',
      argv: sh('env | sort; pwd'),
    });
    expect(r.stdout).toBe('ONLY=this\nPATH=/bin\nPWD=/usr\nSHLVL=1\n/usr\n');
  });

  it('runs a script through its shebang, resolved inside the root', async () => {
    mkdirSync(path.join(root, 'opt'), { recursive: true });
    writeFileSync(path.join(root, 'opt/interp'), '#!/bin/sh\necho "interp got $1"\n', { mode: 0o755 });
    const viaSh = await run({ rootfs: root, script: '#!/bin/sh\nset -e\necho "script $0 as $(id -u)"\nexit 5\n' });
    expect(viaSh.stdout).toMatch(/^script \/\S+ as 0\n$/);
    expect(viaSh.end).toEqual({ kind: 'exited', exitCode: 5 });
    const custom = await run({ rootfs: root, script: '#!/opt/interp\nignored body\n' });
    expect(custom.stdout).toMatch(/^interp got \/\S+\n$/);
    const noShebang = await run({ rootfs: root, script: 'echo plain shell\n' });
    expect(noShebang.stdout).toBe('plain shell\n');
  });

  it('streams stdout and stderr separately and keeps an interleaved tail', async () => {
    const r = await run({ rootfs: root, argv: sh('echo out1; echo err1 >&2; sleep 0.05; echo out2') });
    expect(r.stdout).toBe('out1\nout2\n');
    expect(r.stderr).toBe('err1\n');
    expect(r.tail).toEqual(['out1', 'err1', 'out2']);
  });

  it('reports a command that does not exist as exit 127 with a message, like a shell', async () => {
    const r = await run({ rootfs: root, argv: ['no-such-command'] });
    expect(r.end).toEqual({ kind: 'exited', exitCode: 127 });
    expect(r.stderr).toContain('cannot execute no-such-command');
  });

  it('reports death by a signal with its name', async () => {
    const r = await run({ rootfs: root, argv: sh('kill -TERM $$') });
    expect(r.end).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    expect(r.exitCode).toBe(143);
  });

  it('runs with no_new_privs and without sys_admin, sys_ptrace or sys_module in the bounding set', async () => {
    const r = await run({
      rootfs: root,
      argv: sh(
        'grep -E "NoNewPrivs|CapBnd" /proc/self/status; mkdir /tmp/m; mount -t tmpfs x /tmp/m 2>/dev/null || echo mount-denied',
      ),
    });
    const bnd = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(r.stdout)?.[1] ?? '0'}`);
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    // sys_admin, sys_ptrace, sys_module and mknod are gone; chown, dac_override, fowner, setgid, setuid, setfcap stay.
    for (const cap of [21n, 19n, 16n, 27n]) expect(bnd & (1n << cap)).toBe(0n);
    for (const cap of [0n, 1n, 3n, 6n, 7n, 31n]) expect(bnd & (1n << cap)).not.toBe(0n);
    expect(r.stdout).toContain('mount-denied');
  });

  it('keeps a capability the spec asks for', async () => {
    const r = await run({
      rootfs: root,
      capabilities: ['sys_admin'],
      argv: sh('mkdir /tmp/m; mount -t tmpfs x /tmp/m && echo mounted'),
    });
    expect(r.stdout).toBe('mounted\n');
  });

  it('with mknod kept, lets the step make device nodes but open only harmless ones', async () => {
    const r = await run({
      rootfs: root,
      capabilities: ['mknod'],
      argv: sh(
        'mknod /dev/null2 c 1 3 && echo x > /dev/null2 && echo null-ok; mknod /dev/mem c 1 1 && echo made-mem; head -c1 /dev/mem 2>/dev/null || echo mem-denied',
      ),
    });
    expect(r.stdout).toBe('null-ok\nmade-mem\nmem-denied\n');
  });

  it('binds host paths read-only by default and read-write on request', async () => {
    const ro = path.join(dir, 'bind-ro');
    const rw = path.join(dir, 'bind-rw');
    mkdirSync(ro, { recursive: true });
    mkdirSync(rw, { recursive: true });
    writeFileSync(path.join(ro, 'in'), 'from host\n');
    const r = await run({
      rootfs: root,
      binds: [
        { source: ro, target: '/mnt/ro' },
        { source: rw, target: '/mnt/rw', readWrite: true },
      ],
      argv: sh('cat /mnt/ro/in; touch /mnt/ro/x 2>/dev/null || echo ro-denied; echo made > /mnt/rw/out'),
    });
    expect(r.stdout).toBe('from host\nro-denied\n');
    expect(readFileSync(path.join(rw, 'out'), 'utf8')).toBe('made\n');
    expect(existsSync(path.join(ro, 'x'))).toBe(false);
  });

  it('on an overlay, writes go to the upper dir and the rootfs is untouched', async () => {
    const upper = path.join(dir, 'upper');
    const r = await run({
      rootfs: root,
      overlay: { upperDir: upper },
      argv: sh('echo new > /created; rm /bin/cat; ls /bin/cat 2>/dev/null || echo gone'),
    });
    expect(r.stdout).toBe('gone\n');
    expect(readFileSync(path.join(upper, 'created'), 'utf8')).toBe('new\n');
    expect(existsSync(path.join(root, 'created'))).toBe(false);
    expect(existsSync(path.join(root, 'bin/cat'))).toBe(true);
    // overlayfs's work dir is removed afterwards.
    expect(readdirSync(dir).filter((e) => e.includes('kiln-work'))).toEqual([]);
  });
});

describe('spec mistakes', () => {
  it('rejects a missing rootfs, both argv and script, and a missing working directory with one clear line', async () => {
    await expect(run({ rootfs: path.join(dir, 'nope'), argv: ['true'] })).rejects.toThrow(
      /rootfs .*nope: not a directory/,
    );
    await expect(run({ rootfs: root, argv: ['true'], script: 'x' })).rejects.toThrow(/exactly one of argv/);
    await expect(run({ rootfs: root, argv: ['true'], cwd: '/does/not/exist' })).rejects.toThrow(
      /chdir \/does\/not\/exist \(inside the container\): No such file/,
    );
  });
});
