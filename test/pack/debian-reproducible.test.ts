import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { kiln, ROOT } from '../helpers/kiln.js';
import {
  SHARED_CATALOG_SERIAL,
  SHARED_SOURCE_DATE_EPOCH,
  sharedDebianCatalog,
  sharedRoot,
} from '../helpers/shared-builds.js';

const REL = `images/debian/bookworm/amd64/default/${SHARED_CATALOG_SERIAL}`;

function digests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  // build.json records this build's own timings; everything else must be identical.
  for (const f of readdirSync(dir).sort()) {
    if (f === 'build.json') continue;
    out[f] = createHash('sha256')
      .update(readFileSync(path.join(dir, f)))
      .digest('hex');
  }
  return out;
}

function inputDigestOf(dir: string): string | undefined {
  return (JSON.parse(readFileSync(path.join(dir, 'build.json'), 'utf8')) as { inputDigest?: string }).inputDigest;
}

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

/**
 * Bit-for-bit reproducible Debian images: bookworm (amd64, default) built a
 * second time, at another time in other directories, with the shared
 * catalog's serial and SOURCE_DATE_EPOCH, gives the same bytes for every
 * artifact as the build the catalog published.
 */
describe('a Debian build is reproducible', () => {
  let published: string;
  beforeAll(async () => {
    published = path.join((await sharedDebianCatalog()).out, REL);
  }, 60 * 60_000);

  it(
    'a second build of debian:bookworm:amd64:default gives identical artifacts',
    async () => {
      const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-repro-debian-'));
      const build = async (name: string): Promise<string> => {
        const out = path.join(tmp, name);
        const r = await kiln(
          [
            'build',
            path.join(ROOT, 'definitions/debian.yaml'),
            '-o',
            'image.release=bookworm',
            '-o',
            'image.architecture=amd64',
            '-o',
            'image.variant=default',
            '--serial',
            SHARED_CATALOG_SERIAL,
            '--out',
            out,
            '--work-dir',
            path.join(tmp, 'work'),
            '--cache-dir',
            path.join(sharedRoot(), 'cache'),
          ],
          { timeout: 30 * 60_000, env: { SOURCE_DATE_EPOCH: SHARED_SOURCE_DATE_EPOCH } },
        );
        expect(r.exitCode, r.all).toBe(0);
        return path.join(out, REL);
      };
      try {
        let first = published;
        let again = await build('out');
        // Same bytes are owed only for the same inputs. When the mirror moved
        // between the two builds (a security update landed: the input digests,
        // which cover the Release files, differ), two fresh builds are compared.
        if (inputDigestOf(again) !== inputDigestOf(first)) {
          console.log('the Debian mirror changed since the catalog build: comparing two fresh builds');
          first = again;
          again = await build('out2');
          expect(inputDigestOf(again)).toBe(inputDigestOf(first));
        }
        if (JSON.stringify(digests(again)) !== JSON.stringify(digests(first))) {
          console.log(await firstDifferences(path.join(first, 'rootfs.tar.xz'), path.join(again, 'rootfs.tar.xz')));
        }
        expect(digests(again)).toEqual(digests(first));
        expect(Object.keys(digests(first))).toEqual(
          expect.arrayContaining([
            'rootfs.tar.xz',
            'meta.tar.xz',
            'incus.tar.xz',
            'rootfs.squashfs',
            'SHA256SUMS',
            'sbom.spdx.json',
          ]),
        );
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
    30 * 60_000,
  );
});
