/**
 * The lxc-ci corpus ubuntu.yaml, unchanged, runs its source stage (the
 * host's debootstrap, for real) against an Ubuntu-layout archive on
 * loopback for every amd64 combination of matrix.json. jammy has a script
 * in the host's debootstrap; noble and resolute do not, so the definition's
 * `same_as: gutsy` picks it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { combinations, corpusSourceStage, matrix } from './corpus.js';
import { sha256, startMirror } from './fixtures.js';
import { ubuntuArchive, type UbuntuArchive } from './mirrors/ubuntu-archive.js';

const sourceStage = corpusSourceStage();

describe('lxc-ci corpus: ubuntu.yaml (debootstrap, same_as gutsy)', () => {
  let key: TestKey;
  let server: FixtureServer;
  let archive: UbuntuArchive;
  beforeAll(async () => {
    key = makeTestKey('Corpus Ubuntu');
    archive = await ubuntuArchive(key, { codenames: matrix.ubuntu!.releases });
    server = await startMirror(archive.tree);
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    key?.dispose();
  });

  for (const c of combinations('ubuntu')) {
    it(`${c.release} ${c.variant} amd64`, { timeout: 300_000 }, async () => {
      const url = server.url('/ubuntu/');
      await sourceStage(
        'ubuntu.yaml',
        [...c.overrides, `source.url=${url}`, `source.keys.0=${key.armored}`],
        async (root, record) => {
          const ownScript = existsSync(`/usr/share/debootstrap/scripts/${c.release}`);
          expect(record.resolved).toEqual({
            suite: c.release,
            mirror: url,
            ...(ownScript ? {} : { script: '/usr/share/debootstrap/scripts/gutsy' }),
          });
          expect(record.inputs).toEqual([
            {
              url: `${url}dists/${c.release}/InRelease`,
              sha256: sha256(archive.inRelease.get(c.release)!),
              size: archive.inRelease.get(c.release)!.length,
              verifiedBy: expect.stringContaining(key.fingerprint),
            },
          ]);
          // Installed and configured from the fixture's pool by the root's own dpkg,
          // including what the gutsy script installs by name.
          const lines = execFileSync('chroot', [root, 'dpkg-query', '-W', '-f', '${Package} ${Status}\\n'], {
            encoding: 'utf8',
          })
            .trim()
            .split('\n');
          const installed = lines.map((l) => l.split(' ')[0]!);
          expect(lines.filter((l) => !l.endsWith(' install ok installed'))).toEqual([]);
          expect(archive.packages).toEqual(expect.arrayContaining(installed));
          expect(installed).toEqual(
            expect.arrayContaining(['base-passwd', 'base-files', 'dpkg', 'libc6', 'perl-base', 'mawk', 'debconf']),
          );
        },
      );
    });
  }
});

describe('debootstrap fails closed against the Ubuntu archive', () => {
  let key: TestKey;
  let other: TestKey;
  let server: FixtureServer;
  const overrides = (url: string, release = 'noble'): string[] => [
    `image.release=${release}`,
    'image.variant=default',
    'image.architecture=amd64',
    `source.url=${url}`,
    `source.keys.0=${key.armored}`,
  ];
  beforeAll(async () => {
    key = makeTestKey('Corpus Ubuntu trusted');
    other = makeTestKey('Corpus Ubuntu other');
    // /good is signed by the trusted key; /forged by another; /tampered has
    // Packages indices that no longer match its signed Release.
    const good = await ubuntuArchive(key, { codenames: ['noble'], base: '/good' });
    const forged = await ubuntuArchive(other, { codenames: ['noble'], base: '/forged' });
    const tampered = await ubuntuArchive(key, { codenames: ['noble'], base: '/tampered' });
    for (const p of [...tampered.tree.files.keys()].filter((f) => /\/Packages(\.gz|\.xz)?$/.test(f))) {
      const text = p.endsWith('.gz') ? 'x' : p.endsWith('.xz') ? 'y' : 'z';
      tampered.tree.add(p, Buffer.concat([tampered.tree.files.get(p)!, Buffer.from(text)]));
    }
    for (const [p, c] of [...forged.tree.files, ...tampered.tree.files]) good.tree.add(p, c);
    server = await startMirror(good.tree);
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    other?.dispose();
  });

  const failure = async (url: string, release?: string): Promise<string> => {
    let message = '';
    await sourceStage('ubuntu.yaml', overrides(url, release), async () => {
      throw new Error('the source stage should have failed');
    }).catch((e: unknown) => {
      message = e instanceof Error ? e.message : String(e);
    });
    return message;
  };

  it('refuses a Release signed by a key the definition does not list', async () => {
    const message = await failure(server.url('/forged/'));
    expect(message).toMatch(/^debootstrap failed \(exit 1\): Release signed by unknown key \(key id [0-9A-F]{16}\)\n/);
    expect(message).toContain(`using EDDSA key ${other.fingerprint}`);
  });

  it('refuses package indices whose checksum does not match the signed Release', async () => {
    const message = await failure(server.url('/tampered/'));
    expect(message.split('\n')[0]).toBe(
      `debootstrap failed (exit 1): Couldn't download ${server.url('/tampered/dists/noble/main/binary-amd64/Packages')}`,
    );
    expect(message).toContain(`${server.url('/tampered/dists/noble/main/binary-amd64/Packages')} was corrupt`);
  });

  it('names the URL of a suite the archive does not have', async () => {
    const message = await failure(server.url('/good/'), 'questing');
    expect(message.split('\n')[0]).toBe(
      `debootstrap failed (exit 1): Failed getting release file ${server.url('/good/dists/questing/Release')}`,
    );
  });
});
