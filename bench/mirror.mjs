#!/usr/bin/env node
// kiln mirror against wget on the same data, same run: a loopback upstream
// with N MB in simplestreams items (8 products, one version each); wget gets
// the same URLs (`wget -x -nH -i list`, the files wget --mirror would find).
// Then a no-change rerun of kiln mirror against the first run.
//
// Usage: node bench/mirror.mjs [MB]   (default 200; needs `npm run build` and wget)
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const mb = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bench-mirror-'));
const up = path.join(dir, 'upstream');
const products = {};
const urls = [];
const per = Math.ceil((mb * 1024 * 1024) / 8 / 2);
for (let i = 0; i < 8; i++) {
  const rel = `images/bench${i}/1/amd64/default/20260101_00:00`;
  mkdirSync(path.join(up, rel), { recursive: true });
  const items = {};
  for (const [key, name, ftype] of [
    ['root.squashfs', 'rootfs.squashfs', 'squashfs'],
    ['disk.qcow2', 'disk.qcow2', 'disk-kvm.img'],
  ]) {
    const data = randomBytes(per);
    writeFileSync(path.join(up, rel, name), data);
    items[key] = { ftype, path: `${rel}/${name}`, sha256: createHash('sha256').update(data).digest('hex'), size: per };
    urls.push(`${rel}/${name}`);
  }
  products[`bench${i}:1:amd64:default`] = {
    arch: 'amd64',
    aliases: `bench${i}/1`,
    versions: { '20260101_00:00': { items } },
  };
}
mkdirSync(path.join(up, 'streams/v1'), { recursive: true });
writeFileSync(
  path.join(up, 'streams/v1/images.json'),
  JSON.stringify({ content_id: 'images', format: 'products:1.0', datatype: 'image-downloads', products }),
);
writeFileSync(
  path.join(up, 'streams/v1/index.json'),
  JSON.stringify({
    format: 'index:1.0',
    index: {
      images: {
        datatype: 'image-downloads',
        path: 'streams/v1/images.json',
        format: 'products:1.0',
        products: Object.keys(products),
      },
    },
  }),
);

const server = http.createServer((req, res) => {
  const file = path.join(up, decodeURIComponent(new URL(req.url, 'http://x').pathname));
  let st;
  try {
    st = statSync(file);
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-length': st.size });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

const runAsync = (cmd, args) =>
  new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    import('node:child_process').then(({ execFile }) =>
      execFile(cmd, args, { maxBuffer: 1 << 26 }, (e) =>
        e ? reject(e) : resolve(Number(process.hrtime.bigint() - t0) / 1e9),
      ),
    );
  });

writeFileSync(
  path.join(dir, 'list'),
  ['streams/v1/index.json', 'streams/v1/images.json', ...urls].map((u) => base + u).join('\n'),
);
const wget = await runAsync('wget', ['-q', '-x', '-nH', '-P', path.join(dir, 'wget'), '-i', path.join(dir, 'list')]);
const kiln = await runAsync('node', [
  path.join(repo, 'bin/kiln.js'),
  'mirror',
  base,
  '--out',
  path.join(dir, 'kiln'),
  '--jobs',
  '4',
]);
const rerun = await runAsync('node', [path.join(repo, 'bin/kiln.js'), 'mirror', base, '--out', path.join(dir, 'kiln')]);
server.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  `${mb} MB: kiln mirror ${kiln.toFixed(2)} s (sha256 and size of every file checked), wget ${wget.toFixed(2)} s: ratio ${(kiln / wget).toFixed(2)}x`,
);
console.log(`no-change rerun ${rerun.toFixed(2)} s: ${((rerun / kiln) * 100).toFixed(1)}% of the first run`);
