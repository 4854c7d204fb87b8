/**
 * Real Debian bookworm minbase roots from the host's apt mirror, made once
 * each by debootstrap and by mmdebstrap. Slow (minutes): it downloads and
 * installs real packages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fetchSource } from '../../src/source/index.js';
import { pickDebianMirror, readAptSources } from '../../src/source/apt-mirror.js';
import type { SourceRecord } from '../../src/source/types.js';
import { makeContext, type TestContext } from './context.js';

const BOOTSTRAP_TIMEOUT = 900_000;

function hostArchiveFingerprints(): string[] {
  // A scratch homedir: reading a keyring must not create ~/.gnupg.
  const home = mkdtempSync(path.join(os.tmpdir(), 'kiln-gpg-list-'));
  let out: string;
  try {
    out = execFileSync(
      'gpg',
      ['--homedir', home, '--batch', '--with-colons', '--show-keys', '/usr/share/keyrings/debian-archive-keyring.gpg'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const fprs: string[] = [];
  let primary = false;
  for (const line of out.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') primary = true;
    else if (f[0] === 'fpr' && primary) {
      fprs.push(f[9]!);
      primary = false;
    }
  }
  return fprs;
}

for (const tool of ['debootstrap', 'mmdebstrap'] as const) {
  describe(`${tool}: a Debian bookworm minbase root from the host's apt mirror`, () => {
    let ctx: TestContext;
    let record: SourceRecord;
    let expectedMirror: string | undefined;

    beforeAll(async () => {
      expectedMirror = pickDebianMirror(await readAptSources(), 'bookworm');
      // mmdebstrap also proves fingerprints resolve from the host keyrings.
      const keys = tool === 'mmdebstrap' ? hostArchiveFingerprints() : undefined;
      ctx = await makeContext(
        { downloader: tool, variant: 'minbase', ...(keys ? { keys } : {}) },
        { release: 'bookworm', early: { install: ['less'], remove: [] } },
      );
      record = await fetchSource(ctx);
    }, BOOTSTRAP_TIMEOUT);

    afterAll(async () => {
      await ctx?.cleanup();
    });

    it('uses the Debian mirror configured in the host apt sources', () => {
      expect(expectedMirror).toMatch(/^https?:\/\//);
      expect(record.resolved).toMatchObject({ suite: 'bookworm', mirror: expectedMirror, variant: 'minbase' });
      expect(ctx.sink.events).toContainEqual(
        expect.objectContaining({
          type: 'log',
          message: expect.stringContaining(`using the mirror ${expectedMirror} from /etc/apt/`),
        }),
      );
    });

    it('records the signed Release file it bootstrapped from', () => {
      expect(record.downloader).toBe(tool);
      expect(record.inputs).toHaveLength(1);
      expect(record.inputs[0]!.url).toBe(`${expectedMirror!.replace(/\/+$/, '')}/dists/bookworm/InRelease`);
      expect(record.inputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(record.inputs[0]!.verifiedBy).toMatch(
        tool === 'mmdebstrap' ? /^gpg:[0-9A-F]{40}/ : /^debootstrap-release$/,
      );
    });

    it('gives a working bookworm root with the early packages installed', async () => {
      expect(await readFile(`${ctx.rootfs}/etc/debian_version`, 'utf8')).toMatch(/^12\./);
      expect((await stat(`${ctx.rootfs}/usr/bin/less`)).isFile()).toBe(true);
      const out = execFileSync(
        'chroot',
        [ctx.rootfs, 'dpkg-query', '-W', '-f', '${Package}\n', 'apt', 'less', 'dpkg'],
        { encoding: 'utf8' },
      );
      expect(out.trim().split('\n').sort()).toEqual(['apt', 'dpkg', 'less']);
    });

    if (tool === 'debootstrap') {
      it('keeps the downloaded packages in the cache for the next build', async () => {
        const debs = (await readdir(path.join(ctx.cacheDir, 'debootstrap'))).filter((n) => n.endsWith('.deb'));
        expect(debs.length).toBeGreaterThan(50);
        expect(debs.some((n) => n.startsWith('less_'))).toBe(true);
      });
    }

    it("streams the bootstrapper's output as events", () => {
      expect(ctx.sink.events.filter((e) => e.type === 'output' && e.step === 'source').length).toBeGreaterThan(5);
    });
  });
}
