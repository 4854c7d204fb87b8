#!/usr/bin/env node
// Start cost of kiln's container runtime against the raw tool, same run:
//   raw      unshare -mpuin --fork chroot ROOTFS /bin/true
//   runtime  runInContainer({ rootfs, argv: ['/bin/true'] }) (what a build step pays)
//   runtime+lim  the same with --memory and --pids (a fresh cgroup per run)
//   cli      node bin/kiln.js run ROOTFS -- /bin/true (adds Node's own start-up)
// Runs are interleaved so load from other work on the machine hits all alike.
// Usage: node bench/run-start.mjs [N]   (default 40; needs `npm run build` and root)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInContainer } from '../dist/runtime/index.js';

const N = Number(process.argv[2] ?? 40);
const repo = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bench-run-'));
const root = path.join(dir, 'rootfs');

function makeRoot() {
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n')) {
    if (!applet || applet === 'bin/busybox') continue;
    mkdirSync(path.join(root, path.dirname(applet)), { recursive: true });
    symlinkSync('/bin/busybox', path.join(root, applet));
  }
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'etc']) mkdirSync(path.join(root, d), { recursive: true });
}

function spawnTimed(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

const contenders = {
  raw: () => spawnTimed('unshare', ['-mpuin', '--fork', 'chroot', root, '/bin/true']),
  runtime: async () => {
    const t0 = process.hrtime.bigint();
    const r = await runInContainer({ rootfs: root, argv: ['/bin/true'] });
    if (r.exitCode !== 0) throw new Error(`runInContainer: ${JSON.stringify(r.end)}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  },
  // Limits need a cgroup: on cgroup v1 attaching a task waits for an RCU grace period.
  'runtime+lim': async () => {
    const t0 = process.hrtime.bigint();
    const r = await runInContainer({
      rootfs: root,
      argv: ['/bin/true'],
      limits: { memoryBytes: 256 << 20, pids: 512 },
    });
    if (r.exitCode !== 0) throw new Error(`runInContainer: ${JSON.stringify(r.end)}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  },
  cli: () => spawnTimed(process.execPath, [path.join(repo, 'bin/kiln.js'), 'run', root, '--', '/bin/true']),
  'node -e 0': () => spawnTimed(process.execPath, ['-e', '0']),
};

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    p90: s[Math.floor(s.length * 0.9)],
  };
};

try {
  makeRoot();
  const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (const run of Object.values(contenders)) await run(); // warm-up
  for (let i = 0; i < N; i++) for (const [name, run] of Object.entries(contenders)) times[name].push(await run());

  const raw = stats(times.raw).median;
  console.log(`start cost of /bin/true in a container, ${N} runs each (median, mean, p90 in ms)`);
  console.log(
    'what'.padEnd(12),
    'median'.padStart(8),
    'mean'.padStart(8),
    'p90'.padStart(8),
    '  ratio (median vs raw)',
  );
  for (const [name, xs] of Object.entries(times)) {
    const s = stats(xs);
    console.log(
      name.padEnd(12),
      s.median.toFixed(2).padStart(8),
      s.mean.toFixed(2).padStart(8),
      s.p90.toFixed(2).padStart(8),
      `  ${(s.median / raw).toFixed(2)}x`,
    );
  }
  const cli = stats(times.cli).median;
  const node = stats(times['node -e 0']).median;
  console.log(`runtime vs raw: ${(stats(times.runtime).median / raw).toFixed(2)}x (target <= 1.5x)`);
  console.log(`cli minus node start-up vs raw: ${((cli - node) / raw).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
