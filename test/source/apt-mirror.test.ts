import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pickDebianMirror, readAptSources } from '../../src/source/apt-mirror.js';

let etc: string;
beforeEach(async () => {
  etc = await mkdtemp(path.join(os.tmpdir(), 'kiln-apt-'));
  await mkdir(path.join(etc, 'sources.list.d'));
});
afterEach(async () => {
  await rm(etc, { recursive: true, force: true });
});

describe('finding the Debian mirror in the host apt configuration', () => {
  it('reads one-line sources.list entries with options, skipping comments and deb-src', async () => {
    await writeFile(
      path.join(etc, 'sources.list'),
      [
        '# deb http://commented.example/debian bookworm main',
        'deb-src http://src.example/debian bookworm main',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian bookworm main contrib',
        'deb http://security.example/debian-security bookworm-security main',
      ].join('\n'),
    );
    const sources = await readAptSources(etc);
    expect(sources).toHaveLength(3);
    expect(sources[1]).toMatchObject({
      types: ['deb'],
      uris: ['http://mirror.example/debian'],
      suites: ['bookworm'],
      components: ['main', 'contrib'],
      signedBy: '/usr/share/keyrings/x.gpg',
    });
    expect(pickDebianMirror(sources, 'bookworm')).toBe('http://mirror.example/debian');
  });

  it('reads deb822 .sources files, honouring Enabled: no', async () => {
    await writeFile(
      path.join(etc, 'sources.list.d', 'debian.sources'),
      [
        'Types: deb',
        'URIs: http://disabled.example/debian',
        'Suites: trixie',
        'Components: main',
        'Enabled: no',
        '',
        'Types: deb deb-src',
        '# a comment inside',
        'URIs: https://mirror.example/debian',
        'Suites: trixie trixie-updates',
        'Components: main',
        '',
        'Types: deb',
        'URIs: https://mirror.example/debian-security',
        'Suites: trixie-security',
        'Components: main',
      ].join('\n'),
    );
    const sources = await readAptSources(etc);
    expect(sources.map((s) => s.uris[0])).toEqual([
      'https://mirror.example/debian',
      'https://mirror.example/debian-security',
    ]);
    expect(pickDebianMirror(sources, 'trixie')).toBe('https://mirror.example/debian');
  });

  it('falls back to any plain Debian suite entry when the release is not listed', async () => {
    await writeFile(
      path.join(etc, 'sources.list.d', 'a.list'),
      'deb http://updates.example/debian bookworm-updates main\n',
    );
    await writeFile(
      path.join(etc, 'sources.list.d', 'b.list'),
      'deb http://node.example/node nodistro main\ndeb http://mirror.example/debian bookworm main\n',
    );
    expect(pickDebianMirror(await readAptSources(etc), 'trixie')).toBe('http://mirror.example/debian');
  });

  it('ignores files that are not .list or .sources', async () => {
    await writeFile(
      path.join(etc, 'sources.list.d', 'old.list.disabled'),
      'deb http://mirror.example/debian bookworm main\n',
    );
    expect(pickDebianMirror(await readAptSources(etc), 'bookworm')).toBeUndefined();
  });
});
