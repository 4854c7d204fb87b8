import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { artifactDigests } from '../helpers/digests.js';
import { kiln, ROOT } from '../helpers/kiln.js';
import {
  SHARED_CATALOG_SERIAL,
  SHARED_SOURCE_DATE_EPOCH,
  sharedDebianCatalog,
  sharedRoot,
} from '../helpers/shared-builds.js';

const REL = `images/debian/bookworm/amd64/default/${SHARED_CATALOG_SERIAL}`;

/** Where two rootfs tarballs first differ, as a diffoscope-style list of entries. */
async function firstDifferences(a: string, b: string): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-repro-diff-'));
  try {
    const lists: string[] = [];
    for (const [i, t] of [a, b].entries()) {
      const dir = path.join(tmp, String(i));
      await mkdir(dir);
      await execa('tar', ['--numeric-owner', '-xpJf', t, '-C', dir]);
      lists.push((await execa('tar', ['--numeric-owner', '-tvJf', t])).stdout);
    }
    await writeFile(path.join(tmp, 'list0'), lists[0] ?? '');
    await writeFile(path.join(tmp, 'list1'), lists[1] ?? '');
    const listing = (await execa('diff', ['-u', path.join(tmp, 'list0'), path.join(tmp, 'list1')], { reject: false }))
      .stdout;
    const content = (
      await execa('diff', ['-rq', '--no-dereference', path.join(tmp, '0'), path.join(tmp, '1')], { reject: false })
    ).stdout;
    return `${content
      .split('\n')
      .filter((l) => !l.includes('special file'))
      .slice(0, 20)
      .join('\n')}\n${listing.slice(0, 2000)}`;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function sourceOf(dir: string): unknown {
  return (JSON.parse(readFileSync(path.join(dir, 'build.json'), 'utf8')) as { inputParts?: { source?: unknown } })
    .inputParts?.source;
}

/** `dpkg-query -W` over the image's own package database, read out of rootfs.tar.xz. */
async function dpkgQuery(buildDir: string, tmp: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, 'dpkg-'));
  await execa('tar', ['-xJf', path.join(buildDir, 'rootfs.tar.xz'), '-C', dir, './var/lib/dpkg/status']);
  await mkdir(path.join(dir, 'var/lib/dpkg/updates'), { recursive: true });
  await mkdir(path.join(dir, 'var/lib/dpkg/info'), { recursive: true });
  return (await execa('dpkg-query', [`--admindir=${path.join(dir, 'var/lib/dpkg')}`, '-W'])).stdout;
}

const BOOKWORM = ['-o', 'image.release=bookworm', '-o', 'image.architecture=amd64', '-o', 'image.variant=default'];

/**
 * Bit-for-bit reproducible Debian images, and repeatable from their lock:
 * bookworm (amd64, default) built a second time, at another time in other
 * directories, with the shared catalog's serial and SOURCE_DATE_EPOCH and
 * `--lock` from the published build, installs the same package versions and
 * gives the same bytes for every artifact (build.lock.json included).
 */
describe('a Debian build is reproducible from its lock', () => {
  let published: string;
  let tmp: string;
  const build = (name: string, extra: string[] = []) =>
    kiln(
      [
        'build',
        path.join(ROOT, 'definitions/debian.yaml'),
        ...BOOKWORM,
        '--serial',
        SHARED_CATALOG_SERIAL,
        '--out',
        path.join(tmp, name),
        '--work-dir',
        path.join(tmp, 'work'),
        '--cache-dir',
        path.join(sharedRoot(), 'cache'),
        ...extra,
      ],
      { timeout: 30 * 60_000, env: { SOURCE_DATE_EPOCH: SHARED_SOURCE_DATE_EPOCH } },
    );
  beforeAll(async () => {
    published = path.join((await sharedDebianCatalog()).out, REL);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-repro-debian-'));
  }, 60 * 60_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it(
    "a second build of debian:bookworm:amd64:default from the first one's lock gives identical packages and artifacts",
    async () => {
      let first = published;
      let r = await build('out', ['--lock', path.join(first, 'build.lock.json')]);
      let again = path.join(tmp, 'out', REL);
      // Same bytes are owed only for the same inputs. When the mirror moved
      // since the catalog build (a security update landed), the lock may name
      // versions it no longer serves: then a fresh build and a build from its
      // lock are compared.
      if (r.exitCode !== 0 || JSON.stringify(sourceOf(again)) !== JSON.stringify(sourceOf(first))) {
        console.log(
          `the Debian mirror changed since the catalog build: comparing two fresh builds\n${r.all?.slice(-600)}`,
        );
        const fresh = await build('fresh');
        expect(fresh.exitCode, fresh.all).toBe(0);
        first = path.join(tmp, 'fresh', REL);
        r = await build('out2', ['--lock', path.join(first, 'build.lock.json')]);
        again = path.join(tmp, 'out2', REL);
      }
      expect(r.exitCode, r.all).toBe(0);
      // apt read the pins for the whole build.
      expect(r.all).toContain('-> apt-lock:pin');
      // The image's own package manager saw the pins: sudo came through `apt-get install sudo=VERSION`.
      const plan = JSON.parse(readFileSync(path.join(first, 'build.lock.json'), 'utf8')) as {
        packages: { name: string; version: string }[];
      };
      const sudo = plan.packages.find((p) => p.name === 'sudo');
      expect(sudo).toBeDefined();
      expect(await dpkgQuery(again, tmp)).toBe(await dpkgQuery(first, tmp));
      expect(await dpkgQuery(again, tmp)).toContain(`sudo\t${sudo?.version}`);
      if (JSON.stringify(artifactDigests(again)) !== JSON.stringify(artifactDigests(first))) {
        console.log(await firstDifferences(path.join(first, 'rootfs.tar.xz'), path.join(again, 'rootfs.tar.xz')));
      }
      expect(artifactDigests(again)).toEqual(artifactDigests(first));
      expect(Object.keys(artifactDigests(first))).toEqual(
        expect.arrayContaining([
          'rootfs.tar.xz',
          'meta.tar.xz',
          'incus.tar.xz',
          'rootfs.squashfs',
          'SHA256SUMS',
          'sbom.spdx.json',
          'build.lock.json',
        ]),
      );
    },
    60 * 60_000,
  );

  it(
    'a lock naming a version the mirror does not carry fails with that package named, and publishes nothing',
    async () => {
      const lock = JSON.parse(readFileSync(path.join(published, 'build.lock.json'), 'utf8')) as {
        packages: { name: string; version: string }[];
      };
      const baseFiles = lock.packages.find((p) => p.name === 'base-files');
      expect(baseFiles).toBeDefined();
      baseFiles!.version = '0.0+kiln.gone';
      const file = path.join(tmp, 'gone.lock.json');
      await writeFile(file, JSON.stringify(lock));
      const r = await build('gone', ['--lock', file]);
      expect(r.exitCode).toBe(1);
      expect(r.all).toMatch(
        new RegExp(
          `kiln: the image's packages differ from ${file}: the mirror no longer carries the locked versions of [^;]*base-files:amd64 0\\.0\\+kiln\\.gone \\(got [^)]+\\).*; nothing was published`,
        ),
      );
      expect(existsSync(path.join(tmp, 'gone', 'images'))).toBe(false);
    },
    30 * 60_000,
  );
});
