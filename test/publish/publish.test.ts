import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild, regenerateIndexes } from '../../src/publish/index.js';
import { KilnError } from '../../src/util/errors.js';
import { cloneBuild, makeBuild, serials, tempDir } from './fixture.js';

const kiln = join(process.cwd(), 'bin/kiln.js');

function lines(text: string): string[] {
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text.split('\n').slice(0, -1);
}

describe('publishBuild', () => {
  let work: string;
  let tree: string;
  const [s1, s2, s3] = serials(3);

  beforeAll(async () => {
    work = await tempDir('publish');
    tree = join(work, 'tree');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('moves the build to images/<dist>/<release>/<arch>/<variant>/<serial>/ and removes the staging directory', async () => {
    const b = await makeBuild(work, { serial: s1! });
    const { dir } = await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    expect(dir).toBe(join(tree, 'images/kilntest/1/amd64/default', s1!));
    expect((await readdir(dir)).sort()).toEqual([
      'SHA256SUMS',
      'build.json',
      'incus.tar.xz',
      'meta.tar.xz',
      'rootfs.squashfs',
      'rootfs.tar.xz',
    ]);
    await expect(stat(b.staging)).rejects.toThrow();
    expect(await readdir(join(tree, 'images/kilntest/1/amd64/default'))).toEqual([s1]);
  });

  it('writes index-system, index-user and their .7 copies: one line per product with the newest build, every line ending in \\n', async () => {
    const b2 = await makeBuild(work, { serial: s2! });
    await publishBuild({ tree, stagingDir: b2.staging, record: b2.record });
    const priv = await makeBuild(work, { serial: s1!, dist: 'privonly', userConfig: false, incus: false });
    await publishBuild({ tree, stagingDir: priv.staging, record: priv.record });
    const system = await readFile(join(tree, 'meta/1.0/index-system'), 'utf8');
    const user = await readFile(join(tree, 'meta/1.0/index-user'), 'utf8');
    expect(lines(system)).toEqual([
      `kilntest;1;amd64;default;${s2};/images/kilntest/1/amd64/default/${s2}/`,
      `privonly;1;amd64;default;${s1};/images/privonly/1/amd64/default/${s1}/`,
    ]);
    expect(lines(user)).toEqual([`kilntest;1;amd64;default;${s2};/images/kilntest/1/amd64/default/${s2}/`]);
    expect(await readFile(join(tree, 'meta/1.0/index-system.7'), 'utf8')).toBe(system);
    expect(await readFile(join(tree, 'meta/1.0/index-user.7'), 'utf8')).toBe(user);
  });

  it('writes simplestreams index.json and images.json with both metadata ftypes and the fingerprints of `cat meta root | sha256sum`', async () => {
    const index = JSON.parse(await readFile(join(tree, 'streams/v1/index.json'), 'utf8'));
    expect(index.format).toBe('index:1.0');
    expect(index.index.images).toMatchObject({
      datatype: 'image-downloads',
      path: 'streams/v1/images.json',
      format: 'products:1.0',
      products: ['kilntest:1:amd64:default'],
    });
    const images = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8'));
    expect(images).toMatchObject({ content_id: 'images', datatype: 'image-downloads', format: 'products:1.0' });
    const product = images.products['kilntest:1:amd64:default'];
    expect(product).toMatchObject({
      arch: 'amd64',
      os: 'Kilntest',
      release: '1',
      release_title: '1',
      variant: 'default',
      requirements: {},
    });
    expect(product.aliases.split(',')).toEqual(['kilntest/1', 'kilntest/1/default']);
    expect(Object.keys(product.versions).sort()).toEqual([s1, s2]);
    const items = product.versions[s2!].items;
    expect(Object.keys(items).sort()).toEqual([
      'incus.tar.xz',
      'lxd.tar.xz',
      `root.${s1}.vcdiff`,
      'root.squashfs',
      'root.tar.xz',
    ]);
    const dir = join(tree, 'images/kilntest/1/amd64/default', s2!);
    const sum = (files: string[]) =>
      execFileSync('sh', ['-c', `cat ${files.join(' ')} | sha256sum`], { cwd: dir })
        .toString()
        .split(' ')[0];
    expect(items['incus.tar.xz']).toMatchObject({
      ftype: 'incus.tar.xz',
      path: `images/kilntest/1/amd64/default/${s2}/incus.tar.xz`,
      sha256: sum(['incus.tar.xz']),
      size: (await stat(join(dir, 'incus.tar.xz'))).size,
      combined_squashfs_sha256: sum(['incus.tar.xz', 'rootfs.squashfs']),
      combined_rootxz_sha256: sum(['incus.tar.xz', 'rootfs.tar.xz']),
      combined_sha256: sum(['incus.tar.xz', 'rootfs.tar.xz']),
    });
    expect({ ...items['lxd.tar.xz'], ftype: 'incus.tar.xz' }).toEqual(items['incus.tar.xz']);
    expect(items['lxd.tar.xz'].ftype).toBe('lxd.tar.xz');
    expect(items['root.squashfs']).toMatchObject({
      ftype: 'squashfs',
      sha256: sum(['rootfs.squashfs']),
      path: `images/kilntest/1/amd64/default/${s2}/rootfs.squashfs`,
    });
    expect(items['root.tar.xz']).toMatchObject({ ftype: 'root.tar.xz', sha256: sum(['rootfs.tar.xz']) });
  });

  it('refuses a build whose file does not match SHA256SUMS, leaving the tree and the staging directory as they were', async () => {
    const b = await makeBuild(work, { serial: s3! });
    await writeFile(join(b.staging, 'meta.tar.xz'), 'tampered');
    const before = await readFile(join(tree, 'meta/1.0/index-system'), 'utf8');
    const err = await publishBuild({ tree, stagingDir: b.staging, record: b.record }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as Error).message).toMatch(/meta\.tar\.xz: sha256 .* does not match SHA256SUMS/);
    expect(await readdir(join(tree, 'images/kilntest/1/amd64/default'))).toEqual([s1, s2]);
    expect(await readFile(join(b.staging, 'meta.tar.xz'), 'utf8')).toBe('tampered');
    expect(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).toBe(before);
  });

  it('refuses to publish a serial twice: a published build is never replaced', async () => {
    const b = await makeBuild(work, { serial: s2! });
    await expect(publishBuild({ tree, stagingDir: b.staging, record: b.record })).rejects.toThrow(
      /already published; a published build is never replaced/,
    );
    await expect(stat(b.staging)).resolves.toBeTruthy();
  });

  it('refuses a record whose names would escape the tree or break the index', async () => {
    const b = await makeBuild(work, { serial: s3! });
    const bad = { ...b.record, product: { ...b.record.product, release: '../x' } };
    await expect(publishBuild({ tree, stagingDir: b.staging, record: bad })).rejects.toThrow(
      /product release '..\/x' is not allowed/,
    );
    await expect(publishBuild({ tree, stagingDir: b.staging, record: { ...b.record, serial: 'a;b' } })).rejects.toThrow(
      /serial 'a;b' is not allowed/,
    );
  });

  it('copies a staging directory from another filesystem (/dev/shm) and removes it after publishing', async () => {
    const shm = await mkdir('/dev/shm/kiln-publish-test-' + process.pid, { recursive: true }).then(
      () => '/dev/shm/kiln-publish-test-' + process.pid,
    );
    try {
      const b = await makeBuild(work, { serial: s3!, dist: 'copied' });
      const elsewhere = await cloneBuild(shm, b, s3!);
      const { dir } = await publishBuild({ tree, stagingDir: elsewhere.staging, record: elsewhere.record });
      expect((await readdir(dir)).length).toBe(6);
      await expect(stat(elsewhere.staging)).rejects.toThrow();
      expect(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).toContain(`copied;1;amd64;default;${s3};`);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });

  it('never changes a published file: regenerating indexes and publishing more leaves build files untouched', async () => {
    const f = join(tree, 'images/kilntest/1/amd64/default', s1!, 'rootfs.tar.xz');
    const before = await stat(f);
    const b = await makeBuild(work, { serial: s3! });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    await regenerateIndexes(tree);
    const after = await stat(f);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.ino, before.mtimeMs, before.size]);
  });

  it("keeps the build's own build.json byte for byte when it already carries every fingerprint", async () => {
    const b = await makeBuild(work, { serial: s3!, dist: 'keepsrecord' });
    const text = `${JSON.stringify(b.record)}\n`;
    await writeFile(join(b.staging, 'build.json'), text);
    const { dir } = await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    expect(await readFile(join(dir, 'build.json'), 'utf8')).toBe(text);
  });

  it('leaves a build whose rootfs is not rootfs.tar.xz out of the LXC index (the client asks for that name) but lists its squashfs', async () => {
    const b = await makeBuild(work, { serial: s3!, dist: 'zstdroot' });
    await rename(join(b.staging, 'rootfs.tar.xz'), join(b.staging, 'rootfs.tar.zst'));
    const record = {
      ...b.record,
      artifacts: b.record.artifacts.map((a) => (a.name === 'rootfs.tar.xz' ? { ...a, name: 'rootfs.tar.zst' } : a)),
    };
    await writeFile(join(b.staging, 'SHA256SUMS'), record.artifacts.map((a) => `${a.sha256}  ${a.name}\n`).join(''));
    await writeFile(join(b.staging, 'build.json'), JSON.stringify(record));
    await publishBuild({ tree, stagingDir: b.staging, record });
    expect(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).not.toContain('zstdroot');
    const images = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8'));
    expect(Object.keys(images.products['zstdroot:1:amd64:default'].versions[s3!].items).sort()).toEqual([
      'incus.tar.xz',
      'lxd.tar.xz',
      'root.squashfs',
    ]);
  });

  it('`kiln index` rebuilds every index from the build.json files after they were lost, and drops unfinished staging directories', async () => {
    const system = await readFile(join(tree, 'meta/1.0/index-system'), 'utf8');
    const images = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8'));
    await rm(join(tree, 'meta'), { recursive: true });
    await rm(join(tree, 'streams'), { recursive: true });
    const leftover = join(tree, 'images/kilntest/1/amd64/default/.20990101_00:00');
    await mkdir(leftover);
    const out = execFileSync('node', [kiln, 'index', tree]).toString();
    expect(out).toMatch(/5 products, 7 builds/);
    expect(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8')).toBe(system);
    const rebuilt = JSON.parse(await readFile(join(tree, 'streams/v1/images.json'), 'utf8'));
    expect(rebuilt.products).toEqual(images.products);
    await expect(stat(leftover)).rejects.toThrow();
  });
});
