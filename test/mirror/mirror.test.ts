import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorRun } from './run.js';
import { LxcClient } from '../helpers/lxc-client.js';
import { serveTree, type ServedTree } from '../helpers/serve.js';
import { Upstream } from './upstream.js';

const run = promisify(execFile);

const DEF = 'images/kilnmirror/1/amd64/default';

describe('kiln mirror of an images.linuxcontainers.org-shaped upstream', () => {
  let work: string;
  let up: Upstream;
  let out: string;
  let served: ServedTree | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-mirror-'));
    up = await Upstream.create(work);
    await up.start();
    out = join(work, 'mirror');
  });
  afterAll(async () => {
    await served?.stop();
    await up?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('copies exactly the selected products, every file as upstream has it, and keeps upstream items and fingerprints', async () => {
    const r = await mirrorRun([up.url, '--out', out, '--only', 'kilnmirror:*:amd64:*', '--keyring', up.keyring]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.result.published.sort()).toEqual([
      'images/kilnmirror/1/amd64/cloud/20260101_00:00',
      `${DEF}/20260101_00:00`,
      `${DEF}/20260102_00:00`,
    ]);
    expect(existsSync(join(out, 'images/othermirror'))).toBe(false);
    const index = await readFile(join(out, 'meta/1.0/index-system'), 'utf8');
    expect(index).toBe(
      'kilnmirror;1;amd64;cloud;20260101_00:00;/images/kilnmirror/1/amd64/cloud/20260101_00:00/\n' +
        `kilnmirror;1;amd64;default;20260102_00:00;/${DEF}/20260102_00:00/\n`,
    );
    // Every upstream file of the version is there byte for byte, with upstream's signatures of the LXC pair.
    const dir = `${DEF}/20260102_00:00`;
    for (const f of [
      'rootfs.tar.xz',
      'meta.tar.xz',
      'incus.tar.xz',
      'rootfs.squashfs',
      'disk.qcow2',
      'delta-20260101_00:00.vcdiff',
      'rootfs.tar.xz.asc',
      'meta.tar.xz.asc',
    ])
      expect((await readFile(join(out, dir, f))).equals(await up.file(`${dir}/${f}`)), f).toBe(true);
    // Upstream's items, verbatim but for the path.
    const mine = JSON.parse(await readFile(join(out, 'streams/v1/images.json'), 'utf8'));
    const theirs = await up.imagesJson();
    expect(Object.keys(mine.products).sort()).toEqual(['kilnmirror:1:amd64:cloud', 'kilnmirror:1:amd64:default']);
    expect(mine.products['kilnmirror:1:amd64:default'].versions).toEqual(
      theirs.products['kilnmirror:1:amd64:default']!.versions,
    );
    expect(mine.products['kilnmirror:1:amd64:default']).toMatchObject({
      aliases: 'kilnmirror/1/default,kilnmirror/1',
      os: 'Kilnmirror',
      requirements: { secureboot: 'false' },
    });
  });

  it('a second run with nothing new fetches only the indexes', async () => {
    const before = up.log.length;
    const r = await mirrorRun([up.url, '--out', out, '--only', 'kilnmirror:*:amd64:*', '--keyring', up.keyring]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.result.published).toEqual([]);
    const paths = up.log.slice(before).map((l) => l.path);
    expect(paths.sort()).toEqual([
      'meta/1.0/index-system',
      'meta/1.0/index-user',
      'streams/v1/images.json',
      'streams/v1/index.json',
    ]);
    expect(r.result.bytesFetched).toBe(r.result.indexBytes);
    console.log(`no-change rerun fetched ${r.result.bytesFetched} bytes (indexes only)`);
  });

  it('kiln serve of the mirror: lxc-create -t download installs the mirrored image and lxc-start boots it', async () => {
    served = await serveTree(out);
    const client = await LxcClient.create(join(work, 'lxc'), served.ca);
    const name = `kiln-mirror-${process.pid}`;
    try {
      const created = await client.createFromServer(name, served.server, 'kilnmirror', '1', 'amd64');
      expect(created.exitCode, created.all).toBe(0);
      expect(created.all).toContain('kiln test image kilnmirror 1 (serial 20260102_00:00)');
      expect((await readFile(join(client.rootfs(name), 'etc/kiln-serial'), 'utf8')).trim()).toBe('20260102_00:00');
      const started = await client.start(name);
      expect(started.exitCode, started.all).toBe(0);
      expect((await client.wait(name, 'RUNNING', 30)).exitCode).toBe(0);
      const hostname = await client.attach(name, ['hostname']);
      expect(hostname.exitCode, hostname.all).toBe(0);
    } finally {
      await client.destroy(name);
    }
  });

  it("the LXD client lists the mirrored products with upstream's fingerprints", async () => {
    const conf = join(work, 'lxdconf');
    await mkdir(conf, { recursive: true });
    const env = { ...process.env, LXD_CONF: conf, SSL_CERT_FILE: served!.ca, HOME: work };
    const lxd = (...args: string[]) => run('/usr/bin/lxc', args, { env, timeout: 60_000 });
    await lxd('remote', 'add', 'M', `https://${served!.server}`, '--protocol=simplestreams', '--public');
    const { stdout } = await lxd('image', 'list', 'M:', '--format', 'json');
    const images = JSON.parse(stdout) as { fingerprint: string; type: string }[];
    const theirs = await up.imagesJson();
    const expected: unknown[] = [];
    for (const key of ['kilnmirror:1:amd64:default', 'kilnmirror:1:amd64:cloud'])
      for (const v of Object.values(theirs.products[key]!.versions)) {
        const m = v.items['lxd.tar.xz']!;
        expected.push(m.combined_squashfs_sha256, m.combined_rootxz_sha256, m['combined_disk-kvm-img_sha256']);
      }
    expect(images.map((i) => i.fingerprint).sort()).toEqual(expected.sort());
    expect(images.filter((i) => i.type === 'virtual-machine')).toHaveLength(3);
  });

  it('a new upstream serial is fetched alone; with --keep 2 the oldest leaves the indexes, its files after the grace period', async () => {
    up.listed.set('kilnmirror:1:amd64:default', ['20260101_00:00', '20260102_00:00', '20260103_00:00']);
    await up.render();
    const before = up.log.length;
    const r = await mirrorRun([
      up.url,
      '--out',
      out,
      '--only',
      'kilnmirror:1:amd64:default',
      '--keyring',
      up.keyring,
      '--keep',
      '2',
      '--grace',
      '2s',
    ]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.result.published).toEqual([`${DEF}/20260103_00:00`]);
    const files = up.log.slice(before).filter((l) => l.path.startsWith('images/'));
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((l) => l.path.startsWith(`${DEF}/20260103_00:00/`))).toBe(true);
    expect(r.result.pruned).toEqual([`${DEF}/20260101_00:00`]);
    const streams = JSON.parse(await readFile(join(out, 'streams/v1/images.json'), 'utf8'));
    expect(Object.keys(streams.products['kilnmirror:1:amd64:default'].versions).sort()).toEqual([
      '20260102_00:00',
      '20260103_00:00',
    ]);
    // Other products of the tree are not this run's to prune.
    expect(streams.products['kilnmirror:1:amd64:cloud']).toBeDefined();
    expect(existsSync(join(out, DEF, '20260101_00:00'))).toBe(true);
    await new Promise((res) => setTimeout(res, 2100));
    const later = await mirrorRun([up.url, '--out', out, '--only', 'kilnmirror:1:amd64:default', '--keep', '2']);
    expect(later.exitCode, later.all).toBe(0);
    expect(later.result.deleted).toEqual([`${DEF}/20260101_00:00`]);
    expect((await readdir(join(out, DEF))).sort()).toEqual(['20260102_00:00', '20260103_00:00']);
  });

  it('a kiln mirror is itself an upstream: mirror of the mirror has the same products and fingerprints', async () => {
    const second = join(work, 'mirror2');
    const r = await mirrorRun([`https://${served!.server}/`, '--out', second], {
      ...(process.env as Record<string, string>),
      NODE_EXTRA_CA_CERTS: served!.ca,
    });
    expect(r.exitCode, r.all).toBe(0);
    const a = JSON.parse(await readFile(join(out, 'streams/v1/images.json'), 'utf8'));
    const b = JSON.parse(await readFile(join(second, 'streams/v1/images.json'), 'utf8'));
    expect(b.products).toEqual(a.products);
    expect(await readFile(join(second, 'meta/1.0/index-system'), 'utf8')).toBe(
      await readFile(join(out, 'meta/1.0/index-system'), 'utf8'),
    );
  });
});
