#!/usr/bin/env node
// The engine's overhead: one 4-cell catalog built on this machine by
// `kiln build --catalog --jobs 2`, then the same catalog through Buildbot
// (contrib/buildbot/master.cfg, a master and 2 workers on this machine,
// bundles uploaded and published once), in the same run. Prints both times
// and their ratio; the issue asks for under 10% overhead.
//
// Usage: node bench/buildbot.mjs [SECONDS]
//   each cell is the busybox image plus a `sleep SECONDS` action (default 20)
//   standing in for the work of a real build. Needs root, `npm run build`,
//   and the buildbot and buildbot-worker packages.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const kiln = path.join(repo, 'bin/kiln.js');
const seconds = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bench-buildbot-'));
const cells = ['c1', 'c2', 'c3', 'c4'];
const busybox = readFileSync(path.join(repo, 'definitions/busybox.yaml'), 'utf8');
for (const c of cells)
  writeFileSync(
    path.join(dir, `${c}.yaml`),
    busybox
      .replace('distribution: busybox', `distribution: ${c}`)
      .replace(
        '\nactions:\n',
        `\nactions:\n- trigger: post-unpack\n  action: |-\n    #!/bin/sh\n    sleep ${seconds}\n`,
      ),
  );
const catalog = path.join(dir, 'kiln.yaml');
writeFileSync(catalog, `images:\n${cells.map((c) => `- definition: ${c}.yaml\n`).join('')}`);

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sql = (q) =>
  execFileSync(
    'python3',
    [
      '-c',
      `import sqlite3,sys;print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])`,
      path.join(dir, 'master/state.sqlite'),
      q,
    ],
    {
      encoding: 'utf8',
    },
  ).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const started = [];
try {
  let t0 = Date.now();
  execFileSync(
    'node',
    [kiln, 'build', '--catalog', catalog, '--jobs', '2', '--out', path.join(dir, 'local'), '--work-dir', dir],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const local = (Date.now() - t0) / 1000;

  const tree = path.join(dir, 'tree');
  mkdirSync(tree);
  const pb = await freePort();
  const master = path.join(dir, 'master');
  execFileSync('buildbot', ['create-master', '-r', master], { stdio: 'ignore' });
  copyFileSync(path.join(repo, 'contrib/buildbot/master.cfg'), path.join(master, 'master.cfg'));
  writeFileSync(
    path.join(master, 'kiln-buildbot.json'),
    JSON.stringify({
      kiln: ['node', kiln],
      catalog,
      tree,
      against: tree,
      pb_port: pb,
      workers: ['w1', 'w2'].map((name) => ({ name, password: name, arch: ['amd64'] })),
      change: { user: 'kiln', password: 'bench' },
    }),
  );
  execFileSync('buildbot', ['start', master], { stdio: 'ignore' });
  started.push(['buildbot', master]);
  for (const w of ['w1', 'w2']) {
    execFileSync('buildbot-worker', ['create-worker', '-r', path.join(dir, w), `127.0.0.1:${pb}`, w, w], {
      stdio: 'ignore',
    });
    execFileSync('buildbot-worker', ['start', path.join(dir, w)], { stdio: 'ignore' });
    started.push(['buildbot-worker', path.join(dir, w)]);
  }
  while (Number(sql('select count(*) from connected_workers')) < 2) await sleep(200);
  t0 = Date.now();
  execFileSync(
    'buildbot',
    [
      'sendchange',
      '--master',
      `127.0.0.1:${pb}`,
      '--auth',
      'kiln:bench',
      '--branch',
      'nightly',
      '--who',
      'bench',
      'nightly',
    ],
    {
      stdio: 'ignore',
    },
  );
  while (
    sql(
      "select count(*) from builds b join builders bl on bl.id=b.builderid where bl.name='nightly' and b.complete_at is not null",
    ) !== '1'
  )
    await sleep(200);
  const engine = (Date.now() - t0) / 1000;
  const published = readFileSync(path.join(tree, 'meta/1.0/index-system'), 'utf8').trim().split('\n').length;
  console.log(`4 cells (busybox + sleep ${seconds}s each), 2 at a time`);
  console.log(`kiln build --catalog --jobs 2:        ${local.toFixed(1)} s`);
  console.log(`Buildbot, 2 workers, one kiln publish: ${engine.toFixed(1)} s (${published} products published)`);
  console.log(
    `ratio Buildbot / kiln: ${(engine / local).toFixed(3)} (overhead ${(((engine - local) / local) * 100).toFixed(1)}%)`,
  );
} finally {
  for (const [cmd, d] of started.reverse()) {
    const pidFile = path.join(d, 'twistd.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
    try {
      execFileSync(cmd, ['stop', d], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      if (pid) process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
