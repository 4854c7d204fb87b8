import { describe, expect, it, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fetchSource, SourceError } from '../../src/source/index.js';
import { isStaticElf } from '../../src/source/elf.js';
import { startFixtureServer } from '../fixtures/http-server.js';
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

const FAKE_MAKEFILE = `CC ?= cc
defconfig:
\tprintf '# CONFIG_STATIC is not set\\nCONFIG_TC=y\\nCONFIG_ASH=y\\n' > .config
oldconfig:
\t@true
busybox: busybox.c .config
\t$(CC) -O2 $$(grep -q '^CONFIG_STATIC=y' .config && echo -static) $$(grep -q '^CONFIG_TC=y' .config && echo -DWITH_TC) -o busybox busybox.c
`;

const FAKE_MAIN = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
#ifdef WITH_TC
\tputs("tc was left enabled");
\treturn 1;
#endif
\tif (argc > 1 && strcmp(argv[1], "--list-full") == 0) {
\t\tputs("bin/sh");
\t\tputs("sbin/init");
\t\tputs("usr/bin/env");
\t\treturn 0;
\t}
\tputs("BusyBox v9.9.9-fake (kiln test) multi-call binary.");
\treturn 0;
}
`;

describe('busybox downloader with a url', () => {
  it('downloads a verified source tarball and builds it statically with its own Makefile', async () => {
    // A tiny stand-in for the busybox tree: same make targets, a real C build.
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-fake-busybox-'));
    const server = await startFixtureServer();
    try {
      await mkdir(path.join(tmp, 'busybox-9.9.9'));
      await writeFile(path.join(tmp, 'busybox-9.9.9/Makefile'), FAKE_MAKEFILE);
      await writeFile(path.join(tmp, 'busybox-9.9.9/busybox.c'), FAKE_MAIN);
      const tarball = (await execa('tar', ['-cjf', '-', '-C', tmp, 'busybox-9.9.9'], { encoding: 'buffer' })).stdout;
      server.set('/busybox/busybox-9.9.9.tar.bz2', Buffer.from(tarball));
      const digest = createHash('sha256').update(tarball).digest('hex');
      ctx = await makeContext(
        { downloader: 'busybox', url: server.url('/busybox'), checksum: `sha256:${digest}` },
        { release: '9.9.9' },
      );
      const record = await fetchSource(ctx);
      expect(record).toEqual({
        downloader: 'busybox',
        resolved: { busybox_version: '9.9.9-fake', built_from: server.url('/busybox/busybox-9.9.9.tar.bz2') },
        inputs: [
          {
            url: server.url('/busybox/busybox-9.9.9.tar.bz2'),
            sha256: digest,
            size: tarball.length,
            verifiedBy: 'checksum:sha256',
          },
        ],
      });
      expect(await isStaticElf(path.join(ctx.rootfs, 'bin/busybox'))).toBe(true);
      expect(await readlink(path.join(ctx.rootfs, 'sbin/init'))).toBe('../bin/busybox');
      expect(await readlink(path.join(ctx.rootfs, 'usr/bin/env'))).toBe('../../bin/busybox');
      expect(await readdir(ctx.workDir)).toEqual([]);
    } finally {
      await server.close();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('refuses an unverifiable source tarball', async () => {
    ctx = await makeContext({ downloader: 'busybox', url: 'http://127.0.0.1:9/busybox' }, { release: '1.36.1' });
    await expect(fetchSource(ctx)).rejects.toThrow(/busybox-1\.36\.1\.tar\.bz2 cannot be verified/);
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
