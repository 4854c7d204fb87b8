/**
 * A bootstrap stopped halfway (the build was interrupted, or debootstrap
 * failed while configuring) leaves nothing mounted in the root: debootstrap
 * mounts proc and sysfs in its target and only unmounts them when it exits
 * on its own, and removing the root must never walk into the host's proc.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fetchSource } from '../../src/source/index.js';
import { detachMountsUnder, mountsUnder } from '../../src/util/mounts.js';
import type { KilnEvent } from '../../src/util/events.js';
import { MemorySink } from '../../src/util/events.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { downloaderContext, type DownloaderRun } from '../downloaders/context.js';
import { startMirror } from '../downloaders/fixtures.js';
import { ubuntuArchive } from '../downloaders/mirrors/ubuntu-archive.js';
import { makeTestKey, type TestKey } from './gpg-keys.js';

describe('debootstrap interrupted while configuring packages', () => {
  let key: TestKey;
  let server: FixtureServer;
  let ctx: DownloaderRun;

  beforeAll(async () => {
    key = makeTestKey('Abort Ubuntu');
    server = await startMirror((await ubuntuArchive(key, { codenames: ['noble'] })).tree);
    ctx = await downloaderContext(
      { downloader: 'debootstrap', url: server.url('/ubuntu/'), same_as: 'gutsy', keys: [key.armored] },
      { release: 'noble' },
    );
  }, 300_000);
  afterAll(async () => {
    await ctx?.cleanup();
    await server?.close();
    key?.dispose();
  });

  it('stops with the abort, and nothing stays mounted below the root', async () => {
    const controller = new AbortController();
    let mountedWhileRunning: string[] = [];
    const sink = new (class extends MemorySink {
      override emit(e: KilnEvent): void {
        super.emit(e);
        // By now debootstrap has mounted proc and sysfs in the target.
        if (e.type === 'output' && e.line.startsWith('I: Configuring') && !controller.signal.aborted) {
          void mountsUnder(ctx.rootfs).then((m) => {
            mountedWhileRunning = m;
            controller.abort(new Error('interrupted'));
          });
        }
      }
    })();
    await expect(fetchSource({ ...ctx, sink, signal: controller.signal })).rejects.toThrow();
    expect(mountedWhileRunning).toEqual(expect.arrayContaining([`${ctx.rootfs}/proc`]));
    expect(await mountsUnder(ctx.rootfs)).toEqual([]);
    await rm(ctx.rootfs, { recursive: true });
  }, 300_000);
});

describe('what a bootstrapper killed outright leaves mounted', () => {
  it('is detached, over-mounts first, before the build removes its root (names with spaces included)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-mounts-'));
    try {
      const proc = path.join(dir, 'rootfs/proc');
      const spaced = path.join(dir, 'rootfs/run/a b');
      await mkdir(proc, { recursive: true });
      await mkdir(spaced, { recursive: true });
      execFileSync('mount', ['-t', 'proc', 'proc', proc]);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', spaced]);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(dir, 'rootfs/run')]);
      expect(await mountsUnder(dir)).toEqual([path.join(dir, 'rootfs/run'), spaced, proc]);
      expect((await detachMountsUnder(dir)).length).toBe(3);
      expect(await mountsUnder(dir)).toEqual([]);
    } finally {
      await detachMountsUnder(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
