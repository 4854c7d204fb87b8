#!/usr/bin/env node
// Unpacking a ~200 MB rootfs tarball: kiln's safe unpacker against GNU
// `tar -xpf` on the same archive, in the same run. Target: ratio <= 1.2.
//
//   npm run build && node bench/unpack.mjs [--runs N] [--formats tar,tar.zst,tar.xz,tar.gz] [--out DIR]
//
// The archive is made once from host directories (docs, perl, dpkg state,
// /etc, /usr/sbin: many small files plus some big ones, like a real root)
// and kept in /tmp/kiln-bench-unpack for later runs. Both tools unpack into
// --out (default /dev/shm when present): on a shared virtual disk the
// writeback of the previous run, not the unpacker, dominates the time.
// Dirty pages are synced before every timed run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist', 'source', 'unpack', 'index.js');
if (!existsSync(dist)) {
  console.error(`bench/unpack: ${dist} is missing; run "npm run build" first`);
  process.exit(1);
}

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const runs = Number(opt('runs', '3'));
const formats = opt('formats', 'tar,tar.zst,tar.xz').split(',');

const dir = '/tmp/kiln-bench-unpack';
const SOURCES = ['etc', 'usr/sbin', 'usr/share/doc', 'usr/share/perl', 'var/lib/dpkg', 'usr/lib/python3'];
mkdirSync(dir, { recursive: true });
const plain = path.join(dir, 'rootfs.tar');
if (!existsSync(plain)) {
  const present = SOURCES.filter((s) => existsSync(path.join('/', s)));
  process.stderr.write(`making ${plain} from /{${present.join(',')}} ...\n`);
  spawnSync('tar', ['--numeric-owner', '--ignore-failed-read', '-cpf', `${plain}.part`, '-C', '/', ...present], {
    stdio: 'ignore',
  });
  execFileSync('mv', [`${plain}.part`, plain]);
}
const COMPRESS = {
  'tar.zst': ['zstd', ['-q', '-T2', '-3']],
  'tar.xz': ['xz', ['-T2', '-2']],
  'tar.gz': ['gzip', ['-6']],
};
for (const f of formats) {
  if (f === 'tar') continue;
  const out = path.join(dir, `rootfs.${f}`);
  if (existsSync(out)) continue;
  const [cmd, cargs] = COMPRESS[f];
  process.stderr.write(`compressing ${out} ...\n`);
  execFileSync('sh', ['-c', `${cmd} ${cargs.join(' ')} -c < "$1" > "$2.part" && mv "$2.part" "$2"`, 'sh', plain, out]);
}

function time(fn) {
  const t = process.hrtime.bigint();
  const r = fn();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, r };
}

const outBase = opt('out', existsSync('/dev/shm') ? '/dev/shm/kiln-bench-unpack' : dir);
mkdirSync(outBase, { recursive: true });

function fresh(name) {
  const d = path.join(outBase, name);
  execFileSync('sync');
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  return d;
}

const KILN = `
const { unpackArchive } = await import(${JSON.stringify(dist)});
const t = process.hrtime.bigint();
const r = await unpackArchive(process.argv[1], process.argv[2]);
const s = Number(process.hrtime.bigint() - t) / 1e9;
process.stdout.write(JSON.stringify({ s, entries: r.entries, maxRSS: process.resourceUsage().maxRSS }));
`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const f of formats) {
  const file = path.join(dir, `rootfs.${f}`);
  const tarTimes = [];
  const kilnTimes = [];
  let rss = 0;
  let entries = 0;
  for (let i = 0; i < runs; i++) {
    const a = fresh('tar-out');
    tarTimes.push(time(() => execFileSync('tar', ['--numeric-owner', '-xpf', file, '-C', a])).s);
    rmSync(a, { recursive: true, force: true });
    const b = fresh('kiln-out');
    // Node start-up is excluded: the child times unpackArchive itself.
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', KILN, file, b], { encoding: 'utf8' }),
    );
    kilnTimes.push(out.s);
    rss = Math.max(rss, out.maxRSS);
    entries = out.entries;
    rmSync(b, { recursive: true, force: true });
  }
  const tarS = median(tarTimes);
  const kilnS = median(kilnTimes);
  rows.push({
    format: f,
    sizeMB: (statSync(file).size / 1e6).toFixed(0),
    entries,
    tarS,
    kilnS,
    ratio: kilnS / tarS,
    rssMB: rss / 1024,
  });
}

const unpackedMB = (statSync(plain).size / 1e6).toFixed(0);
console.log(`unpack bench: ${unpackedMB} MB rootfs tarball into ${outBase}, median of ${runs} runs, same run`);
console.log('format    file MB  entries   GNU tar -xpf   kiln    ratio  kiln peak RSS');
for (const r of rows) {
  console.log(
    `${r.format.padEnd(9)} ${r.sizeMB.padStart(7)}  ${String(r.entries).padStart(7)}   ${r.tarS.toFixed(2).padStart(10)} s  ${r.kilnS.toFixed(2).padStart(5)} s  ${r.ratio.toFixed(2).padStart(5)}x  ${r.rssMB.toFixed(0).padStart(6)} MB`,
  );
}
const worst = Math.max(...rows.map((r) => r.ratio));
console.log(`worst ratio ${worst.toFixed(2)}x (target <= 1.20x)`);
if (outBase !== dir) rmSync(outBase, { recursive: true, force: true });
