import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRoot, removeDir, run, scratchDir } from './fixtures.js';

let dir: string;
let root: string;
const BASE = 100000;
const userns = { uidMap: [`0 ${BASE} 65536`], gidMap: [`0 ${BASE} 65536`] };

beforeAll(() => {
  dir = scratchDir();
  // The kernel opens the root as the mapped uid: the path must let it through.
  chmodSync(dir, 0o755);
  root = makeBusyboxRoot(dir);
  // The part of the image the unprivileged root may write to.
  mkdirSync(path.join(root, 'work'));
  chownSync(path.join(root, 'work'), BASE, BASE);
});
afterAll(() => removeDir(dir));

describe('a run in a user namespace', () => {
  it('is root inside, mapped to an unprivileged uid outside', async () => {
    const r = await run({
      rootfs: root,
      userns,
      argv: ['/bin/sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'],
    });
    expect(r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual([
      '0',
      '0',
      `0 ${BASE} 65536`,
      `0 ${BASE} 65536`,
      '',
    ]);
  });

  it('creates files owned by the mapped uid and gid on the host', async () => {
    const r = await run({
      rootfs: root,
      userns,
      argv: [
        '/bin/sh',
        '-c',
        'touch /work/by-root && mkdir /work/dir && touch /work/by-user && chown 1000:1001 /work/by-user && echo ok',
      ],
    });
    expect(r.stdout).toBe('ok\n');
    const byRoot = statSync(path.join(root, 'work/by-root'));
    expect([byRoot.uid, byRoot.gid]).toEqual([BASE, BASE]);
    expect(statSync(path.join(root, 'work/dir')).uid).toBe(BASE);
    const byUser = statSync(path.join(root, 'work/by-user'));
    expect([byUser.uid, byUser.gid]).toEqual([BASE + 1000, BASE + 1001]);
  });

  it('cannot write what the host root owns, nor reach host files', async () => {
    const r = await run({
      rootfs: root,
      userns,
      argv: ['/bin/sh', '-c', 'touch /bin/new 2>/dev/null || echo denied; ls -ln /bin/busybox | cut -c1-40'],
    });
    expect(r.stdout.split('\n')[0]).toBe('denied');
    // Host root is unmapped inside: it shows as the overflow uid.
    expect(r.stdout).toMatch(/65534\s+65534/);
  });

  it('keeps the same isolation: own /proc, read-only /sys, only lo, hostname', async () => {
    const r = await run({
      rootfs: root,
      userns,
      hostname: 'unpriv',
      argv: [
        '/bin/sh',
        '-c',
        'hostname; ls /proc | grep -cE "^[0-9]+$"; ls /sys/class/net; touch /sys/x 2>/dev/null || echo sys-ro',
      ],
    });
    const [host, procs, ...rest] = r.stdout.trim().split('\n');
    expect(host).toBe('unpriv');
    expect(Number(procs)).toBeLessThanOrEqual(4);
    expect(rest).toEqual(['lo', 'sys-ro']);
  });

  it('with the host network gets a read-only copy of the host /sys', async () => {
    const r = await run({
      rootfs: root,
      userns,
      network: 'host',
      argv: ['/bin/sh', '-c', 'ls /sys/class/net | grep -c .; touch /sys/x 2>/dev/null || echo sys-ro'],
    });
    expect(r.stdout.trim().split('\n')[1]).toBe('sys-ro');
  });

  it('refuses a rootfs the mapped uid cannot reach, naming the directory', async () => {
    chmodSync(dir, 0o700);
    try {
      await expect(run({ rootfs: root, userns, argv: ['true'] })).rejects.toThrow(
        /does not let uid 100000 reach .*chmod o\+x/,
      );
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('runs on an overlay whose upper dir belongs to the mapped root', async () => {
    const upper = path.join(dir, 'userns-upper');
    const r = await run({
      rootfs: root,
      userns,
      overlay: { upperDir: upper },
      argv: ['/bin/sh', '-c', 'echo x > /work/made && echo ok'],
    });
    expect(r.stdout).toBe('ok\n');
    expect(statSync(path.join(upper, 'work/made')).uid).toBe(BASE);
    expect(() => statSync(path.join(root, 'work/made'))).toThrow();
  });
});
