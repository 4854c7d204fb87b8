/**
 * A loopback image server shaped like images.linuxcontainers.org (lxc-ci's
 * jenkins-import-images output): `images/<dist>/<release>/<arch>/<variant>/<serial>/`
 * holding rootfs.tar.xz, meta.tar.xz, incus.tar.xz, rootfs.squashfs,
 * disk.qcow2, delta-<prev>.vcdiff, SHA256SUMS and a detached armoured `.asc`
 * for each; `meta/1.0/index-system` and `index-user` with
 * `/images/.../SERIAL/` paths (newest build per product); `streams/v1/index.json`
 * and `images.json` with lxc-ci's items (the metadata twice, as incus.tar.xz
 * and lxd.tar.xz, carrying every combined fingerprint; root.tar.xz,
 * root.squashfs, disk.qcow2 as disk-kvm.img, root.<prev>.vcdiff as
 * squashfs.vcdiff with delta_base).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeBuild } from '../publish/fixture.js';
import { makeTestKey, type TestKey } from '../source/gpg-keys.js';

export interface ProductSpec {
  dist: string;
  release: string;
  variant: string;
  serials: string[];
}

export const PRODUCTS: ProductSpec[] = [
  {
    dist: 'kilnmirror',
    release: '1',
    variant: 'default',
    serials: ['20260101_00:00', '20260102_00:00', '20260103_00:00'],
  },
  { dist: 'kilnmirror', release: '1', variant: 'cloud', serials: ['20260101_00:00'] },
  { dist: 'othermirror', release: '2', variant: 'default', serials: ['20260101_00:00'] },
];

export interface Override {
  status?: number;
  body?: Buffer | string;
  location?: string;
}

export interface RequestLog {
  path: string;
  status: number;
  bytes: number;
}

export interface SsItem {
  ftype: string;
  path: string;
  sha256: string;
  size: number;
  [field: string]: string | number;
}
export interface SsProduct {
  aliases: string;
  arch: string;
  os: string;
  release: string;
  release_title: string;
  requirements: Record<string, string>;
  variant: string;
  versions: Record<string, { items: Record<string, SsItem> }>;
}
export interface SsImages {
  content_id: string;
  datatype: string;
  format: string;
  products: Record<string, SsProduct>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class Upstream {
  readonly log: RequestLog[] = [];
  readonly overrides = new Map<string, Override>();
  /** Bytes a second for a path (to catch a transfer in the middle). */
  readonly slow = new Map<string, number>();
  /** Which serials of each product key are listed. */
  listed = new Map<string, string[]>();
  url = '';
  private server?: http.Server;

  private constructor(
    readonly dir: string,
    readonly key: TestKey,
    readonly keyring: string,
  ) {}

  static async create(work: string): Promise<Upstream> {
    const dir = join(work, 'upstream');
    const key = makeTestKey('Kiln Mirror Upstream');
    const keyring = join(work, 'upstream-keyring.gpg');
    // gpgv reads a binary keyring: dearmor the exported key.
    const binary = execFileSync('gpg', ['--dearmor'], { input: key.armored });
    await writeFile(keyring, binary);
    const u = new Upstream(dir, key, keyring);
    for (const p of PRODUCTS) {
      let prev: string | undefined;
      for (const serial of p.serials) {
        const b = await makeBuild(work, { dist: p.dist, release: p.release, variant: p.variant, serial });
        const rel = `images/${p.dist}/${p.release}/amd64/${p.variant}/${serial}`;
        const target = join(dir, rel);
        await mkdir(target, { recursive: true });
        for (const f of ['rootfs.tar.xz', 'meta.tar.xz', 'incus.tar.xz', 'rootfs.squashfs'])
          await rename(join(b.staging, f), join(target, f));
        await rm(b.staging, { recursive: true, force: true });
        // A qcow2 stand-in: kiln builds no VM disks, the mirror copies them as they are.
        await writeFile(join(target, 'disk.qcow2'), Buffer.concat([Buffer.from('QFI\xfb'), randomBytes(48 * 1024)]));
        if (prev) {
          const base = join(dir, `images/${p.dist}/${p.release}/amd64/${p.variant}/${prev}/rootfs.squashfs`);
          execFileSync('xdelta3', [
            '-e',
            '-9',
            '-f',
            '-s',
            base,
            join(target, 'rootfs.squashfs'),
            join(target, `delta-${prev}.vcdiff`),
          ]);
        }
        const names = (await readdir(target)).sort();
        const sums: string[] = [];
        for (const n of names) sums.push(`${sha256(await readFile(join(target, n)))}  ${n}\n`);
        await writeFile(join(target, 'SHA256SUMS'), sums.join(''));
        for (const n of [...names, 'SHA256SUMS'])
          await writeFile(join(target, `${n}.asc`), key.detachSign(await readFile(join(target, n))));
        prev = serial;
      }
      u.listed.set(`${p.dist}:${p.release}:amd64:${p.variant}`, p.serials.slice(0, 2));
    }
    await u.render();
    return u;
  }

  /** The version's files as the upstream has them. */
  async file(rel: string): Promise<Buffer> {
    return readFile(join(this.dir, rel));
  }

  /** images.json as lxc-ci writes it, for the listed serials. */
  async imagesJson(): Promise<SsImages> {
    const products: Record<string, SsProduct> = {};
    for (const p of PRODUCTS) {
      const key = `${p.dist}:${p.release}:amd64:${p.variant}`;
      const listed = this.listed.get(key) ?? [];
      if (listed.length === 0) continue;
      const versions: SsProduct['versions'] = {};
      for (const serial of listed) {
        const rel = `images/${p.dist}/${p.release}/amd64/${p.variant}/${serial}`;
        const buf = async (n: string) => readFile(join(this.dir, rel, n));
        const it = async (ftype: string, n: string): Promise<SsItem> => {
          const b = await buf(n);
          return { ftype, path: `${rel}/${n}`, sha256: sha256(b), size: b.length };
        };
        const meta = await buf('incus.tar.xz');
        const combined = async (n: string) => sha256(Buffer.concat([meta, await buf(n)]));
        const fp = {
          combined_sha256: await combined('rootfs.tar.xz'),
          combined_rootxz_sha256: await combined('rootfs.tar.xz'),
          combined_squashfs_sha256: await combined('rootfs.squashfs'),
          'combined_disk-kvm-img_sha256': await combined('disk.qcow2'),
        };
        const items: Record<string, SsItem> = {
          'incus.tar.xz': { ...(await it('incus.tar.xz', 'incus.tar.xz')), ...fp },
          'lxd.tar.xz': { ...(await it('lxd.tar.xz', 'incus.tar.xz')), ...fp },
          'root.tar.xz': await it('root.tar.xz', 'rootfs.tar.xz'),
          'root.squashfs': await it('squashfs', 'rootfs.squashfs'),
          'disk.qcow2': await it('disk-kvm.img', 'disk.qcow2'),
        };
        const i = p.serials.indexOf(serial);
        const prev = i > 0 ? p.serials[i - 1] : undefined;
        if (prev && listed.includes(prev))
          items[`root.${prev}.vcdiff`] = { ...(await it('squashfs.vcdiff', `delta-${prev}.vcdiff`)), delta_base: prev };
        versions[serial] = { items };
      }
      const aliases = [
        `${p.dist}/${p.release}/${p.variant}`,
        ...(p.variant === 'default' ? [`${p.dist}/${p.release}`] : []),
      ];
      products[key] = {
        aliases: aliases.join(','),
        arch: 'amd64',
        os: p.dist.charAt(0).toUpperCase() + p.dist.slice(1),
        release: p.release,
        release_title: p.release,
        requirements: { secureboot: 'false' },
        variant: p.variant,
        versions,
      };
    }
    return { content_id: 'images', datatype: 'image-downloads', format: 'products:1.0', products };
  }

  /** Writes the indexes for the listed serials (each file replaced, never rewritten in place). */
  async render(images?: SsImages): Promise<void> {
    const data = images ?? (await this.imagesJson());
    await mkdir(join(this.dir, 'streams/v1'), { recursive: true });
    await mkdir(join(this.dir, 'meta/1.0'), { recursive: true });
    const put = async (rel: string, text: string) => {
      await writeFile(join(this.dir, `${rel}.new`), text);
      await rename(join(this.dir, `${rel}.new`), join(this.dir, rel));
    };
    await put('streams/v1/images.json', `${JSON.stringify(data, null, 1)}\n`);
    await put(
      'streams/v1/index.json',
      `${JSON.stringify({ format: 'index:1.0', index: { images: { datatype: 'image-downloads', path: 'streams/v1/images.json', format: 'products:1.0', products: Object.keys(data.products) } } }, null, 1)}\n`,
    );
    let lines = '';
    for (const p of PRODUCTS) {
      const listed = this.listed.get(`${p.dist}:${p.release}:amd64:${p.variant}`) ?? [];
      const newest = listed[listed.length - 1];
      if (newest)
        lines += `${p.dist};${p.release};amd64;${p.variant};${newest};/images/${p.dist}/${p.release}/amd64/${p.variant}/${newest}/\n`;
    }
    await put('meta/1.0/index-system', lines);
    await put('meta/1.0/index-user', lines);
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const entry: RequestLog = { path, status: 0, bytes: 0 };
    this.log.push(entry);
    const o = this.overrides.get(path);
    if (o) {
      entry.status = o.status ?? 200;
      if (o.location) res.setHeader('location', o.location);
      res.writeHead(entry.status);
      const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(o.body);
      entry.bytes = body.length;
      res.end(body);
      return;
    }
    const file = join(this.dir, path);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile() || path.split('/').includes('..')) {
      entry.status = 404;
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && Number(range[1]) < st.size) {
      start = Number(range[1]);
      entry.status = 206;
      res.writeHead(206, {
        'content-length': st.size - start,
        'content-range': `bytes ${start}-${st.size - 1}/${st.size}`,
      });
    } else {
      entry.status = 200;
      res.writeHead(200, { 'content-length': st.size });
    }
    const rate = this.slow.get(path);
    const stream = createReadStream(file, { start, highWaterMark: rate ? 16 * 1024 : 64 * 1024 });
    for await (const chunk of stream) {
      entry.bytes += (chunk as Buffer).length;
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      if (rate) await new Promise((r) => setTimeout(r, ((chunk as Buffer).length / rate) * 1000));
      if (res.destroyed) break;
    }
    res.end();
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.key.dispose();
  }
}
