/**
 * The lxc-ci corpus definitions, unchanged, run their source stage against
 * the fixture mirrors for every amd64 combination of matrix.json (see
 * corpus.ts), with `source.url` pointed at the fixture and the trust anchor
 * replaced (the test key for definitions that carry keys, skip_verification
 * for those that carry none). Ubuntu's debootstrap runs are in
 * corpus-ubuntu.test.ts.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FixtureServer } from '../fixtures/http-server.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';
import { combinations, corpusSourceStage, matrix } from './corpus.js';
import { MirrorTree, scratch, sha256, startMirror } from './fixtures.js';
import { alpineMirror } from './mirrors/alpine.js';
import { archMirror } from './mirrors/archlinux.js';
import { fedoraMirror } from './mirrors/fedora.js';
import { opensuseMirror } from './mirrors/opensuse.js';

const sourceStage = corpusSourceStage();

describe('lxc-ci corpus: alpine.yaml (alpinelinux-http)', () => {
  let key: TestKey;
  let server: FixtureServer;
  const releases = matrix.alpine!.releases.filter((r) => r !== 'edge');
  beforeAll(async () => {
    key = makeTestKey('Corpus Alpine');
    server = await startMirror(
      alpineMirror(key, {
        releases: Object.fromEntries(releases.map((r) => [r, [`${r}.1`, `${r}.2`]])),
        arches: ['x86_64'],
      }).tree,
    );
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
  });

  for (const c of combinations('alpine')) {
    it(`${c.release} ${c.variant} amd64`, async () => {
      const overrides = [...c.overrides, `source.url=${server.url('/alpine/')}`, `source.keys.0=${key.armored}`];
      await sourceStage('alpine.yaml', overrides, async (root, record) => {
        const base = c.release === 'edge' ? releases.at(-1)! : c.release;
        expect(record.resolved?.url).toBe(
          server.url(`/alpine/v${base}/releases/x86_64/alpine-minirootfs-${base}.2-x86_64.tar.gz`),
        );
        expect(record.inputs[0]!.verifiedBy).toBe(`gpg:${key.fingerprint}`);
        expect(await readFile(path.join(root, 'etc/alpine-release'), 'utf8')).toBe(`${base}.2\n`);
        if (c.release === 'edge')
          expect(await readFile(path.join(root, 'etc/apk/repositories'), 'utf8')).toContain('/alpine/edge/main');
      });
    });
  }
});

// The definition stage accepts source.checksum only for rootfs-http, and
// `-o source.keys.0=` cannot add a key to a definition that lists none: the
// keyless definitions (archlinux, busybox, fedora) run with skip_verification,
// which still checks upstream's unsigned sums where there are some.
describe('lxc-ci corpus: archlinux.yaml (archlinux-http, no keys in the definition)', () => {
  let server: FixtureServer;
  let key: TestKey;
  beforeAll(async () => {
    key = makeTestKey('Corpus Arch');
    server = await startMirror(archMirror(key).tree);
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
  });

  for (const c of combinations('archlinux')) {
    it(`${c.release} ${c.variant} amd64`, async () => {
      await sourceStage(
        'archlinux.yaml',
        [...c.overrides, `source.url=${server.url('/iso/')}`, 'source.skip_verification=true'],
        async (root, record) => {
          expect(record.resolved).toMatchObject({ release: '2025.01.01', architecture: 'x86_64' });
          expect(record.inputs[0]!.verifiedBy).toBe('sums-unsigned:sha256');
          expect(await readFile(path.join(root, 'etc/os-release'), 'utf8')).toContain('ID=arch');
        },
      );
    });
  }
});

describe('lxc-ci corpus: busybox.yaml (busybox from a source tarball)', () => {
  let server: FixtureServer;
  let digest: string;
  beforeAll(async () => {
    // A stand-in busybox source tree with busybox's make targets: a real, fast C build.
    const s = scratch('corpus-busybox');
    try {
      const release = matrix.busybox!.releases[0]!;
      const dir = path.join(s.dir, `busybox-${release}`);
      mkdirSync(dir);
      writeFileSync(
        path.join(dir, 'Makefile'),
        "CC ?= cc\ndefconfig:\n\tprintf '# CONFIG_STATIC is not set\\n' > .config\noldconfig:\n\t@true\nbusybox: busybox.c .config\n\t$(CC) -O1 -static -o busybox busybox.c\n",
      );
      writeFileSync(
        path.join(dir, 'busybox.c'),
        '#include <stdio.h>\n#include <string.h>\nint main(int c, char **v) { if (c > 1 && !strcmp(v[1], "--list-full")) { puts("bin/sh"); puts("sbin/init"); return 0; } puts("BusyBox v' +
          release +
          ' (kiln fixture) multi-call binary."); return 0; }\n',
      );
      const tarball = execFileSync('tar', ['-cjf', '-', '-C', s.dir, `busybox-${release}`]);
      digest = sha256(tarball);
      server = await startMirror(new MirrorTree('apache').add(`/downloads/busybox-${release}.tar.bz2`, tarball));
    } finally {
      s.remove();
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const c of combinations('busybox')) {
    it(`${c.release} ${c.variant} amd64`, async () => {
      await sourceStage(
        'busybox.yaml',
        [...c.overrides, `source.url=${server.url('/downloads/')}`, 'source.skip_verification=true'],
        async (root, record) => {
          expect(record.inputs[0]).toMatchObject({
            url: server.url(`/downloads/busybox-${c.release}.tar.bz2`),
            sha256: digest,
            verifiedBy: 'none',
          });
          expect(execFileSync(path.join(root, 'bin/busybox'), { encoding: 'utf8' })).toContain(`BusyBox v${c.release}`);
        },
      );
    });
  }
});

describe('lxc-ci corpus: fedora.yaml (fedora-http, Koji publishes no signature)', () => {
  let server: FixtureServer;
  let digests: Map<string, string>;
  beforeAll(async () => {
    const mirror = await fedoraMirror(matrix.fedora!.releases, { arches: ['x86_64'] });
    digests = new Map([...mirror.images].map(([k, v]) => [k.split('/')[0]!, sha256(v.archive)]));
    server = await startMirror(mirror.tree);
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const c of combinations('fedora')) {
    it(`${c.release} ${c.variant} amd64`, async () => {
      await sourceStage(
        'fedora.yaml',
        [...c.overrides, `source.url=${server.url('/')}`, 'source.skip_verification=true'],
        async (root, record) => {
          expect(record.resolved).toMatchObject({ release: c.release, build: '20250115.0', architecture: 'x86_64' });
          expect(record.inputs[0]).toMatchObject({ sha256: digests.get(c.release), verifiedBy: 'none' });
          expect(await readFile(path.join(root, 'etc/fedora-release'), 'utf8')).toBe(
            `Fedora release ${c.release} (20250115.0)\n`,
          );
        },
      );
    });
  }
});

describe('lxc-ci corpus: opensuse.yaml (opensuse-http)', () => {
  let key: TestKey;
  let server: FixtureServer;
  beforeAll(async () => {
    key = makeTestKey('Corpus openSUSE');
    const leap = matrix.opensuse!.releases.filter((r) => r !== 'tumbleweed');
    server = await startMirror(opensuseMirror(key, { leap, arches: ['x86_64'] }).tree);
  });
  afterAll(async () => {
    await server?.close();
    key?.dispose();
  });

  for (const c of combinations('opensuse')) {
    it(`${c.release} ${c.variant} amd64`, async () => {
      await sourceStage(
        'opensuse.yaml',
        [...c.overrides, `source.url=${server.url('/')}`, `source.keys.0=${key.armored}`],
        async (root, record) => {
          expect(record.resolved).toMatchObject({ release: c.release, build: '10.2', architecture: 'x86_64' });
          expect(record.inputs[0]!.verifiedBy).toBe(`gpg:${key.fingerprint}`);
          expect(await readFile(path.join(root, 'etc/os-release'), 'utf8')).toContain('BUILD="10.2"');
        },
      );
    });
  }
});
