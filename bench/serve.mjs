#!/usr/bin/env node
// kiln serve against nginx (sendfile on) on the same tree, same run, loopback only:
// wrk on a 200 MB artifact (throughput) and on the LXC index (requests/s),
// over plain HTTP and over HTTPS. Prints ratios and kiln's peak RSS; exits 0.
// Run `npm run build` first. Usage: node bench/serve.mjs [SECONDS_PER_RUN]
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const seconds = Number(process.argv[2] ?? 4);
const children = [];

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

function start(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  children.push(child);
  child.output = () => out;
  return child;
}

async function stopAll() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const done = new Promise((r) => c.once('close', r));
      c.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }
}

const UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

async function wrk(url, connections, duration = seconds) {
  const { stdout } = await run('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, url], {
    timeout: (duration + 30) * 1000,
  });
  const m = /(\d+) requests in ([\d.]+)(m?s), ([\d.]+)([KMGT]?B) read/.exec(stdout);
  if (!m) throw new Error(`cannot read wrk output:\n${stdout}`);
  const secs = Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (errors) throw new Error(`${url}: ${errors[1]} error responses`);
  return { rps: Number(m[1]) / secs, bps: (Number(m[4]) * UNITS[m[5]]) / secs };
}

async function peakRss(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

const work = await mkdtemp(join(tmpdir(), 'kiln-bench-serve-'));
try {
  // The tree: one 200 MB artifact and an LXC index of 60 products.
  const tree = join(work, 'tree');
  const dir = join(tree, 'images/bench/1/amd64/default/20260101_00:00');
  await mkdir(dir, { recursive: true });
  const fh = await open(join(dir, 'rootfs.squashfs'), 'w');
  for (let i = 0; i < 200; i++) await fh.write(randomBytes(1 << 20));
  await fh.close();
  await mkdir(join(tree, 'meta/1.0'), { recursive: true });
  let index = '';
  for (let i = 0; i < 60; i++)
    index += `dist${i};release;amd64;default;20260101_00:00;/images/dist${i}/release/amd64/default/20260101_00:00/\n`;
  await writeFile(join(tree, 'meta/1.0/index-system'), index);

  const [kHttps, kHttp, nHttp, nHttps] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const kiln = start('node', [
    join(root, 'bin/kiln.js'),
    'serve',
    tree,
    '--listen',
    `127.0.0.1:${kHttps}`,
    '--http',
    `127.0.0.1:${kHttp}`,
  ]);
  await waitForPort(kHttps);
  await waitForPort(kHttp);

  const ng = join(work, 'nginx');
  await mkdir(ng);
  await writeFile(
    join(ng, 'nginx.conf'),
    `
user root;
worker_processes 1;
daemon off;
pid ${ng}/nginx.pid;
error_log ${ng}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${ng}/body; proxy_temp_path ${ng}/proxy; fastcgi_temp_path ${ng}/fastcgi;
  uwsgi_temp_path ${ng}/uwsgi; scgi_temp_path ${ng}/scgi;
  server { listen 127.0.0.1:${nHttp}; root ${tree}; }
  server {
    listen 127.0.0.1:${nHttps} ssl;
    ssl_certificate ${tree}/.kiln/tls/server.pem; ssl_certificate_key ${tree}/.kiln/tls/server.key;
    root ${tree};
  }
}
`,
  );
  const nginx = start('nginx', ['-c', join(ng, 'nginx.conf'), '-p', ng]);
  await waitForPort(nHttp);
  await waitForPort(nHttps);

  const big = '/images/bench/1/amd64/default/20260101_00:00/rootfs.squashfs';
  const idx = '/meta/1.0/index-system';
  const rows = [];
  const runs = [
    ['200 MB file, http', big, 2, 'bps'],
    ['200 MB file, https', big, 2, 'bps'],
    ['index, http', idx, 32, 'rps'],
    ['index, https', idx, 32, 'rps'],
  ].filter((r) => !process.env.BENCH_ONLY || r[0].includes(process.env.BENCH_ONLY));
  for (const [label, path, conns, metric] of runs) {
    const https = label.endsWith('https');
    const kUrl = `${https ? 'https' : 'http'}://127.0.0.1:${https ? kHttps : kHttp}${path}`;
    const nUrl = `${https ? 'https' : 'http'}://127.0.0.1:${https ? nHttps : nHttp}${path}`;
    // One warm-up second each (JIT, page cache), then two measured runs each,
    // alternating, best kept: the machine is shared, the best run is the
    // least disturbed one.
    await wrk(kUrl, conns, 1);
    await wrk(nUrl, conns, 1);
    let k = 0;
    let n = 0;
    for (let i = 0; i < 2; i++) {
      k = Math.max(k, (await wrk(kUrl, conns))[metric]);
      n = Math.max(n, (await wrk(nUrl, conns))[metric]);
    }
    rows.push({ label, metric, kiln: k, nginx: n });
  }
  const rss = await peakRss(kiln.pid);
  await stopAll();

  const fmt = (metric, v) => (metric === 'bps' ? `${(v / 1024 ** 2).toFixed(0)} MiB/s` : `${v.toFixed(0)} req/s`);
  const target = { bps: 0.9, rps: 0.5 };
  console.log(
    `kiln serve vs nginx ${(await run('nginx', ['-v'])).stderr.trim().replace('nginx version: ', '')} (1 worker, sendfile on), wrk best of 2 runs of ${seconds}s, 127.0.0.1, load average ${(await readFile('/proc/loadavg', 'utf8')).split(' ')[0]}`,
  );
  console.log('| run | kiln | nginx | ratio | target |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const ratio = r.kiln / r.nginx;
    console.log(
      `| ${r.label} | ${fmt(r.metric, r.kiln)} | ${fmt(r.metric, r.nginx)} | ${ratio.toFixed(2)}x | ${target[r.metric]}x${ratio >= target[r.metric] ? '' : ' (missed)'} |`,
    );
  }
  console.log(`kiln serve peak RSS: ${(rss / 1024 ** 2).toFixed(0)} MiB (file 200 MiB, streamed)`);
  if (kiln.output().includes('internal error')) console.log(kiln.output());
  void nginx;
} finally {
  await stopAll();
  await rm(work, { recursive: true, force: true });
}
