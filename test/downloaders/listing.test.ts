import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareVersions, fetchListing, LayoutError, parseListing, pickNewest } from '../../src/source/listing.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/http-server.js';
import { renderListing, type ListingStyle } from './fixtures.js';

const CHILDREN = [
  '2024.12.01/',
  'archlinux-bootstrap-2025.01.01-x86_64.tar.zst',
  'archlinux-bootstrap-2025.01.01-x86_64.tar.zst.sig',
  'name with space & amp.txt',
  'Virtualization:containers/',
];
const SIZES = new Map<string, number | undefined>([['archlinux-bootstrap-2025.01.01-x86_64.tar.zst', 123456]]);

describe('directory listing scraping', () => {
  for (const style of ['nginx', 'apache', 'lighttpd', 'mirrorcache'] as ListingStyle[]) {
    it(`reads the direct children of a ${style} listing, without sort links, parents or duplicates`, () => {
      const base = 'http://mirror.test/iso/';
      const html = renderListing(style, '/iso/', CHILDREN, SIZES);
      // MirrorCache links a `.mirrorlist` details page per file; to the scraper those are files too.
      const entries = parseListing(html, base).filter((e) => !e.name.endsWith('.mirrorlist'));
      expect(entries.map((e) => [e.name, e.directory])).toEqual([
        ['2024.12.01', true],
        ['archlinux-bootstrap-2025.01.01-x86_64.tar.zst', false],
        ['archlinux-bootstrap-2025.01.01-x86_64.tar.zst.sig', false],
        ['name with space & amp.txt', false],
        ['Virtualization:containers', true],
      ]);
      expect(entries[1]!.url).toBe('http://mirror.test/iso/archlinux-bootstrap-2025.01.01-x86_64.tar.zst');
      expect(entries[0]!.url).toBe('http://mirror.test/iso/2024.12.01/');
    });
  }

  it('keeps the full name when nginx truncates the link text', () => {
    const long = 'opensuse-tumbleweed-image.x86_64-1.0.0-lxc-Build10.2.tar.xz';
    const html = renderListing('nginx', '/c/', [long], new Map());
    expect(html).toContain('..&gt;</a>');
    expect(parseListing(html, 'http://m/c/').map((e) => e.name)).toEqual([long]);
  });

  it('ignores links to other hosts, other directories and deeper paths', () => {
    const html =
      '<a href="http://elsewhere/x.tar">x</a><a href="/other/y.tar">y</a><a href="sub/z.tar">z</a><a href="./ok.tar">ok</a><a href="#top">t</a>';
    expect(parseListing(html, 'http://m/dir/').map((e) => e.name)).toEqual(['ok.tar']);
  });

  it('orders versions by their numbers, not as text', () => {
    expect(['3.21.9', '3.21.10', '3.21.2'].sort(compareVersions)).toEqual(['3.21.2', '3.21.9', '3.21.10']);
    expect(compareVersions('2025.01.01', '2024.12.31')).toBe(1);
    expect(compareVersions('20250112T170333Z', '20250105T170328Z')).toBe(1);
    expect(compareVersions('9.5', '9.5')).toBe(0);
    expect(compareVersions('9', '9.1')).toBe(-1);
  });

  it('picks the newest match and says what the listing had when nothing matches', () => {
    const entries = parseListing(
      renderListing('apache', '/v/', ['3.21.9/', '3.21.10/', 'x.iso'], new Map()),
      'http://m/v/',
    );
    expect(pickNewest('http://m/v/', entries, /^(3\.21\.\d+)$/, 'release', { directory: true }).version).toBe(
      '3.21.10',
    );
    const err = (() => {
      try {
        pickNewest('http://m/v/', entries, /^(3\.22\.\d+)$/, 'Alpine 3.22 release directory', { directory: true });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LayoutError);
    expect(err!.message).toBe(
      'http://m/v/: no Alpine 3.22 release directory in the directory listing (found 3.21.9/, 3.21.10/, x.iso); the upstream layout may have changed',
    );
  });

  describe('over http', () => {
    let server: FixtureServer;
    beforeAll(async () => {
      server = await startFixtureServer({
        files: {
          '/ok/': renderListing('nginx', '/ok/', ['a.tar'], new Map()),
          '/json/': '{"files": ["a.tar"]}',
          '/empty/': '<html><body><pre></pre></body></html>',
        },
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('adds the trailing slash and reads the listing', async () => {
      expect((await fetchListing(server.url('/ok'))).map((e) => e.url)).toEqual([server.url('/ok/a.tar')]);
    });

    it('names the URL of a missing directory and of a page that is no listing', async () => {
      await expect(fetchListing(server.url('/gone/'))).rejects.toThrow(
        `${server.url('/gone/')}: not found (HTTP 404); the directory kiln looks for does not exist upstream`,
      );
      await expect(fetchListing(server.url('/json/'))).rejects.toThrow(
        `${server.url('/json/')}: not an HTML directory listing (no links in 20 bytes); the upstream layout may have changed`,
      );
      await expect(fetchListing(server.url('/empty/'))).rejects.toThrow(/not an HTML directory listing/);
    });
  });
});
