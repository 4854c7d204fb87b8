import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { VerificationError } from '../../src/source/index.js';
import { parseGentooDigests } from '../../src/source/downloaders/gentoo-http.js';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { runSource, sourceError } from './context.js';
import { busyboxArchive, MirrorTree, scratch, sha256, sha512, startMirror, tarOf } from './fixtures.js';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';

const AUTOBUILDS = '/releases/amd64/autobuilds';

function digests(name: string, data: Buffer): string {
  const b2 = createHash('blake2b512').update(data).digest('hex');
  return `# BLAKE2B HASH\n${b2}  ${name}\n# SHA512 HASH\n${sha512(data)}  ${name}\n# BLAKE2B HASH\n${b2}  ${name}.CONTENTS.gz\n# SHA512 HASH\n${sha512('contents')}  ${name}.CONTENTS.gz\n`;
}

/**
 * distfiles' releases/amd64/autobuilds/current-stage3-amd64-<variant>/
 * (Apache autoindex): two timestamps, clearsigned .DIGESTS (BLAKE2B and
 * SHA512 sections), .asc and .CONTENTS.gz beside the tarball, and
 * snapshots/portage-latest.tar.xz with its .gpgsig.
 */
function gentooMirror(key: TestKey): { tree: MirrorTree; stage3: Map<string, Buffer>; portage: Buffer } {
  const tree = new MirrorTree('apache');
  const stage3 = new Map<string, Buffer>();
  for (const variant of ['openrc', 'systemd']) {
    for (const stamp of ['20250105T170328Z', '20250112T170333Z']) {
      const dir = `${AUTOBUILDS}/current-stage3-amd64-${variant}`;
      const name = `stage3-amd64-${variant}-${stamp}.tar.xz`;
      const txz = busyboxArchive(
        { 'etc/gentoo-release': `Gentoo Base System release 2.17 (${variant} ${stamp})\n`, 'var/db/repos/.keep': '' },
        'xz',
      );
      stage3.set(`${variant}/${stamp}`, txz);
      tree.add(`${dir}/${name}`, txz);
      tree.add(`${dir}/${name}.DIGESTS`, key.clearsign(digests(name, txz)));
      tree.add(`${dir}/${name}.asc`, key.detachSign(txz));
      tree.add(`${dir}/${name}.CONTENTS.gz`, 'contents');
      tree.add(`${AUTOBUILDS}/latest-stage3-amd64-${variant}.txt`, `${stamp}/${name} ${txz.length}\n`);
    }
  }
  const s = scratch('portage');
  try {
    mkdirSync(path.join(s.dir, 'portage/profiles'), { recursive: true });
    writeFileSync(path.join(s.dir, 'portage/profiles/repo_name'), 'gentoo\n');
    writeFileSync(path.join(s.dir, 'portage/metadata.timestamp'), '1736700000\n');
    const portage = tarOf(s.dir, 'xz');
    tree.add('/snapshots/portage-latest.tar.xz', portage);
    tree.add('/snapshots/portage-latest.tar.xz.gpgsig', key.detachSign(portage));
    tree.add('/snapshots/portage-latest.tar.xz.md5sum', 'md5\n');
    return { tree, stage3, portage };
  } finally {
    s.remove();
  }
}

describe('gentoo-http', () => {
  let key: TestKey;
  let mirror: ReturnType<typeof gentooMirror>;
  let server: FixtureServer;
  let cache: ReturnType<typeof scratch>;
  const source = (extra: Record<string, unknown> = {}) => ({
    downloader: 'gentoo-http',
    url: server.url('/'),
    keys: [key.armored],
    variant: 'openrc',
    ...extra,
  });
  const MAP = { architecture_map: 'gentoo' };

  beforeAll(async () => {
    key = makeTestKey('Gentoo Test');
    mirror = gentooMirror(key);
    server = await startMirror(mirror.tree);
    cache = scratch('gentoo-cache');
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
    cache?.remove();
  });

  it('reads only the SHA512 section of a DIGESTS file', () => {
    const data = Buffer.from('x');
    const parsed = parseGentooDigests(digests('f.tar.xz', data));
    expect(parsed.get('f.tar.xz')).toEqual({ algorithm: 'sha512', hex: sha512(data) });
  });

  it('picks the newest stage3 of the variant, checks the clearsigned DIGESTS and adds the portage snapshot as /var/db/repos/gentoo', async () => {
    const url = server.url(`${AUTOBUILDS}/current-stage3-amd64-openrc/stage3-amd64-openrc-20250112T170333Z.tar.xz`);
    const record = await runSource(
      source(),
      { release: 'current', mappings: MAP, cacheDir: cache.dir },
      async (ctx) => {
        expect(await readFile(path.join(ctx.rootfs, 'etc/gentoo-release'), 'utf8')).toContain(
          'openrc 20250112T170333Z',
        );
        expect(await readFile(path.join(ctx.rootfs, 'var/db/repos/gentoo/profiles/repo_name'), 'utf8')).toBe(
          'gentoo\n',
        );
        expect((await readdir(path.join(ctx.rootfs, 'var/db/repos'))).sort()).toEqual(['.keep', 'gentoo']);
      },
    );
    expect(record.resolved).toEqual({
      stage3: '20250112T170333Z',
      architecture: 'amd64',
      variant: 'openrc',
      portage: server.url('/snapshots/portage-latest.tar.xz'),
      url,
    });
    expect(record.inputs.map((i) => [i.url, i.verifiedBy])).toEqual([
      [url, `gpg:${key.fingerprint}`],
      [`${url}.DIGESTS`, `gpg:${key.fingerprint}`],
      [server.url('/snapshots/portage-latest.tar.xz'), `gpg:${key.fingerprint}`],
      [server.url('/snapshots/portage-latest.tar.xz.gpgsig'), `gpg:${key.fingerprint}`],
    ]);
    expect(record.inputs[2]!.sha256).toBe(sha256(mirror.portage));
  });

  it('uses the systemd variant directory', async () => {
    const record = await runSource(source({ variant: 'systemd' }), {
      release: 'current',
      mappings: MAP,
      cacheDir: cache.dir,
    });
    expect(record.resolved?.url).toMatch(
      /current-stage3-amd64-systemd\/stage3-amd64-systemd-20250112T170333Z\.tar\.xz$/,
    );
  });

  it('fails on a stage3 that does not match DIGESTS, a tampered DIGESTS and a bad portage signature', async () => {
    const p = `${AUTOBUILDS}/current-stage3-amd64-openrc/stage3-amd64-openrc-20250112T170333Z.tar.xz`;
    const fresh = scratch('gentoo-fresh');
    try {
      server.set(p, mirror.stage3.get('openrc/20250105T170328Z')!);
      const mismatch = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: fresh.dir });
      expect(mismatch).toBeInstanceOf(VerificationError);
      expect(mismatch.message).toContain(`${server.url(p)}: sha512 mismatch`);
      mirror.tree.publish(server);
      const signed = key
        .clearsign(
          digests('stage3-amd64-openrc-20250112T170333Z.tar.xz', mirror.stage3.get('openrc/20250112T170333Z')!),
        )
        .toString();
      server.set(`${p}.DIGESTS`, signed.replace('CONTENTS.gz', 'CONTENTS.xz'));
      const bad = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: cache.dir });
      expect(bad.message).toBe(`${server.url(p)}.DIGESTS: BAD signature`);
      mirror.tree.publish(server);
      server.set('/snapshots/portage-latest.tar.xz.gpgsig', key.detachSign('old snapshot'));
      const portage = await sourceError(source(), { release: 'current', mappings: MAP, cacheDir: cache.dir });
      expect(portage.message).toBe(`${server.url('/snapshots/portage-latest.tar.xz.gpgsig')}: BAD signature`);
    } finally {
      fresh.remove();
      mirror.tree.publish(server);
    }
  });

  it('names the missing variant directory', async () => {
    const err = await sourceError(source({ variant: 'llvm-openrc' }), {
      release: 'current',
      mappings: MAP,
      cacheDir: cache.dir,
    });
    expect(err.message).toContain(`${server.url(`${AUTOBUILDS}/current-stage3-amd64-llvm-openrc/`)}: not found`);
  });
});
