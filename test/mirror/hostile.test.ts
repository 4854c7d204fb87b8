import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorRun } from './run.js';
import { Upstream, type SsImages } from './upstream.js';

const KEY = 'kilnmirror:1:amd64:default';
const DEF = 'images/kilnmirror/1/amd64/default';
const NEW = '20260103_00:00';
const ID = `${KEY} ${NEW}`;

/**
 * Hostile upstreams: each case lists a new serial with one thing wrong. The
 * run fails with one line naming the item, nothing of the serial reaches
 * the tree, the indexes are the ones served before, and nothing is written
 * outside DIR.
 */
describe('kiln mirror refuses a hostile upstream and keeps serving the previous state', () => {
  let work: string;
  let up: Upstream;
  let base: string;
  let n = 0;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-mirror-hostile-'));
    up = await Upstream.create(work);
    await up.start();
    base = join(work, 'base');
    const r = await mirrorRun([up.url, '--out', base, '--only', KEY, '--keyring', up.keyring]);
    expect(r.exitCode, r.all).toBe(0);
  });
  afterAll(async () => {
    await up?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function indexes(tree: string): Promise<string[]> {
    return Promise.all(
      ['meta/1.0/index-system', 'meta/1.0/index-user', 'streams/v1/index.json', 'streams/v1/images.json'].map((f) =>
        readFile(join(tree, f), 'utf8'),
      ),
    );
  }

  /** Lists the new serial with `mutate` applied, runs the mirror on a copy of the good tree. */
  async function hostile(mutate: (images: SsImages) => Promise<void> | void, expected: RegExp): Promise<string> {
    up.listed.set(KEY, ['20260101_00:00', '20260102_00:00', NEW]);
    const images = await up.imagesJson();
    await mutate(images);
    await up.render(images);
    const tree = join(work, `case-${n++}`);
    await cp(base, tree, { recursive: true });
    const before = await indexes(tree);
    const r = await mirrorRun([up.url, '--out', tree, '--only', KEY, '--keyring', up.keyring]);
    up.overrides.clear();
    up.listed.set(KEY, ['20260101_00:00', '20260102_00:00']);
    await up.render();
    if (process.env.KILN_DEBUG)
      console.log(
        r.all
          .split('\n')
          .filter((l) => !l.includes('progress'))
          .join('\n'),
      );
    expect(r.exitCode, r.all).toBe(1);
    // The CLI's last word: `kiln: <one line>`.
    const line = (r.all.split('\n').find((l) => l.startsWith('kiln: ')) ?? r.all).replace(/^kiln: /, '');
    expect(line).toMatch(expected);
    expect(line).not.toContain('\n');
    expect(r.all).not.toMatch(/\n\s+at /);
    expect(existsSync(join(tree, DEF, NEW))).toBe(false);
    expect((await readdir(join(tree, DEF))).sort()).toEqual(['20260101_00:00', '20260102_00:00']);
    expect(await indexes(tree)).toEqual(before);
    return line;
  }

  const item = (images: SsImages, key: string) => images.products[KEY]!.versions[NEW]!.items[key]!;

  it('a wrong sha256', async () => {
    await hostile(
      (i) => void (item(i, 'root.squashfs').sha256 = '0'.repeat(64)),
      // Caught by the version's SHA256SUMS before a byte is fetched (else by the download's own check).
      new RegExp(
        `^${ID} rootfs.squashfs: (SHA256SUMS says [0-9a-f]{64}, simplestreams 0{64}|.* has sha256 [0-9a-f]{64}, the upstream index says 0{64}); refused$`,
      ),
    );
  });

  it('a wrong size: more bytes than the index says', async () => {
    await hostile(
      (i) => void (item(i, 'disk.qcow2').size = Number(item(i, 'disk.qcow2').size) - 1),
      new RegExp(`^${ID} disk.qcow2: .* is larger than the \\d+ bytes the upstream index gives$`),
    );
  });

  it('a wrong size: fewer bytes than the index says', async () => {
    await hostile(
      (i) => void (item(i, 'disk.qcow2').size = Number(item(i, 'disk.qcow2').size) + 1),
      new RegExp(`^${ID} disk.qcow2: .* has \\d+ bytes, the upstream index says \\d+; refused$`),
    );
  });

  for (const [name, path] of [
    ['..', `${DEF}/../../../../../../../tmp/kiln-mirror-escape/disk.qcow2`],
    ['absolute', '/tmp/kiln-mirror-escape/disk.qcow2'],
    ['//', `${DEF}//${NEW}/disk.qcow2`],
    ['NUL', `${DEF}/${NEW}/disk.qcow2\0.txt`],
  ] as const) {
    it(`an escaping path (${name})`, async () => {
      await hostile(
        (i) => void (item(i, 'disk.qcow2').path = path),
        new RegExp(`^${ID} item disk.qcow2: path .* refused, it would leave the tree$`),
      );
      expect(existsSync('/tmp/kiln-mirror-escape')).toBe(false);
    });
  }

  it('a missing file', async () => {
    await hostile(
      (i) => void up.overrides.set(item(i, 'disk.qcow2').path, { status: 404 }),
      new RegExp(`^${ID} disk.qcow2: .* is listed by the upstream but missing \\(HTTP 404\\)$`),
    );
  });

  it('a bad signature (rootfs.tar.xz.asc of another file)', async () => {
    const other = await up.file(`${DEF}/${NEW}/meta.tar.xz.asc`);
    await hostile(
      () => void up.overrides.set(`${DEF}/${NEW}/rootfs.tar.xz.asc`, { body: other }),
      new RegExp(`^${ID} rootfs.tar.xz: signature check failed with .*; refused$`),
    );
  });

  it('an index that lists one file twice (two items, one path, two sha256s)', async () => {
    await hostile(
      (i) =>
        void (i.products[KEY]!.versions[NEW]!.items['root2.squashfs'] = {
          ...item(i, 'root.squashfs'),
          sha256: '1'.repeat(64),
        }),
      new RegExp(`^${ID} item root2.squashfs: lists ${DEF}/${NEW}/rootfs.squashfs a second time .*; refused$`),
    );
  });

  it('an LXC index that lists one product twice', async () => {
    const line = `kilnmirror;1;amd64;default;${NEW};/${DEF}/${NEW}/\n`;
    await hostile(
      () => void up.overrides.set('meta/1.0/index-system', { body: line + line }),
      /^meta\/1.0\/index-system:2: lists kilnmirror:1:amd64:default a second time; refused$/,
    );
  });

  it('a redirect to another host', async () => {
    await hostile(
      (i) =>
        void up.overrides.set(item(i, 'root.squashfs').path, {
          status: 302,
          location: `http://localhost:${up.port}/${item(i, 'root.squashfs').path}`,
        }),
      new RegExp(`^${ID} rootfs.squashfs: .* redirects to another host \\(localhost:\\d+\\); refused`),
    );
  });

  it('a combined fingerprint that is not sha256(metadata + rootfs)', async () => {
    await hostile(
      (i) => {
        item(i, 'incus.tar.xz').combined_squashfs_sha256 = '2'.repeat(64);
        item(i, 'lxd.tar.xz').combined_squashfs_sha256 = '2'.repeat(64);
      },
      new RegExp(`^${ID}: .*combined_squashfs_sha256 2{64} is not sha256\\(incus.tar.xz \\+ rootfs.squashfs\\)`),
    );
  });

  it('after all that, the same tree mirrors the honest upstream', async () => {
    up.listed.set(KEY, ['20260101_00:00', '20260102_00:00', NEW]);
    await up.render();
    const r = await mirrorRun([up.url, '--out', join(work, 'case-0'), '--only', KEY, '--keyring', up.keyring]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.result.published).toEqual([`${DEF}/${NEW}`]);
  });
});
