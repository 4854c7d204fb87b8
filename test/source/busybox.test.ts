import { describe, expect, it, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { fetchSource, SourceError } from '../../src/source/index.js';
import { makeContext, type TestContext } from './context.js';

let ctx: TestContext | undefined;
afterEach(async () => {
  await ctx?.cleanup();
  ctx = undefined;
});

describe('busybox downloader without a url', () => {
  it('makes a bootable root from the host static busybox', async () => {
    ctx = await makeContext({ downloader: 'busybox' });
    const record = await fetchSource(ctx);
    const root = ctx.rootfs;

    const bin = await readFile(path.join(root, 'bin/busybox'));
    const digest = createHash('sha256').update(bin).digest('hex');
    expect(record.downloader).toBe('busybox');
    expect(record.inputs).toHaveLength(1);
    expect(record.inputs[0]!.sha256).toBe(digest);
    expect(record.inputs[0]!.url).toMatch(/^file:\/\/\/.*busybox$/);

    expect(await readlink(path.join(root, 'sbin/init'))).toBe('../bin/busybox');
    expect(await readlink(path.join(root, 'bin/sh'))).toBe('busybox');
    expect(await readlink(path.join(root, 'usr/bin/['))).toBe('../../bin/busybox');

    expect((await lstat(path.join(root, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await lstat(path.join(root, 'root'))).mode & 0o7777).toBe(0o700);
    for (const d of ['dev', 'proc', 'sys', 'run', 'etc', 'var/log', 'mnt', 'home']) {
      expect((await lstat(path.join(root, d))).isDirectory()).toBe(true);
    }
    expect(await readFile(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    expect(await readFile(path.join(root, 'etc/group'), 'utf8')).toMatch(/^root:x:0:$/m);
  });

  it('gives a root whose shell and applets run with nothing else in it', async () => {
    ctx = await makeContext({ downloader: 'busybox' });
    await fetchSource(ctx);
    const r = await execa('chroot', [ctx.rootfs, '/bin/sh', '-c', 'echo hello | /usr/bin/tr a-z A-Z; id -u']);
    expect(r.stdout.split('\n')).toEqual(['HELLO', '0']);
    expect(await readdir(ctx.canary)).toEqual([]);
  });
});

describe('fetchSource', () => {
  it('rejects an unknown downloader, naming the known ones', async () => {
    ctx = await makeContext({ downloader: 'nosuch-http' });
    const err = await fetchSource(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/unknown downloader "nosuch-http"/);
    expect((err as Error).message).toMatch(/known downloaders: .*busybox/);
  });
});
