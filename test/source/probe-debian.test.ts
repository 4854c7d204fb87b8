/**
 * What decides whether a Debian-family catalog cell is rebuilt: the digests
 * of the Release files it installs from. Not only the bootstrapped suite:
 * the -updates and -security suites that the image's own apt sources add
 * count too, so a security update makes the next run rebuild.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debootstrap } from '../../src/source/downloaders/debootstrap.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { downloaderContext, type DownloaderRun } from '../downloaders/context.js';
import { MirrorTree, sha256, startMirror } from '../downloaders/fixtures.js';

const release = (suite: string, n = 1): string =>
  `Origin: Debian\nSuite: ${suite}\nCodename: ${suite}\nDate: Wed, 15 Jan 2025 10:3${n}:00 UTC\n`;

describe('the Debian probe (change-aware catalog runs)', () => {
  let server: FixtureServer;
  let tree: MirrorTree;
  let ctx: DownloaderRun;
  const probe = () => debootstrap.probe!(ctx);

  beforeAll(async () => {
    tree = new MirrorTree('nginx')
      .add('/debian/dists/bookworm/InRelease', release('bookworm'))
      .add('/debian/dists/bookworm-updates/InRelease', release('bookworm-updates'))
      .add('/debian-security/dists/bookworm-security/InRelease', release('bookworm-security'));
    server = await startMirror(tree);
    ctx = await downloaderContext({ downloader: 'debootstrap', url: server.url('/debian/') }, { release: 'bookworm' });
  });
  afterAll(async () => {
    await ctx?.cleanup();
    await server?.close();
  });

  it('digests the suite and the -updates and -security suites that exist (Debian serves security beside the mirror)', async () => {
    expect((await probe())?.parts).toEqual({
      [server.url('/debian/dists/bookworm/InRelease')]: sha256(release('bookworm')),
      [server.url('/debian/dists/bookworm-updates/InRelease')]: sha256(release('bookworm-updates')),
      [server.url('/debian-security/dists/bookworm-security/InRelease')]: sha256(release('bookworm-security')),
    });
  });

  it('sees a security update: the identity changes although the bootstrapped suite did not', async () => {
    const before = await probe();
    server.set('/debian-security/dists/bookworm-security/InRelease', release('bookworm-security', 2));
    const after = await probe();
    expect(after).not.toEqual(before);
    expect(after?.parts[server.url('/debian/dists/bookworm/InRelease')]).toBe(
      before?.parts[server.url('/debian/dists/bookworm/InRelease')],
    );
  });

  it('still fails on a bootstrapped suite the mirror does not have, naming it', async () => {
    const other = await downloaderContext(
      { downloader: 'debootstrap', url: server.url('/debian/') },
      { release: 'trixie' },
    );
    try {
      await expect(debootstrap.probe!(other)).rejects.toThrow(
        `${server.url('/debian/dists/trixie')}: neither InRelease nor Release exists`,
      );
    } finally {
      await other.cleanup();
    }
  });
});
