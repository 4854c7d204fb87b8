#!/usr/bin/env node
// Packing speed against the raw tools, measured in the same run on the same
// root: kiln's one-walk rootfs.tar.xz (+ rootfs.squashfs) against GNU tar |
// xz -T0 followed by gensquashfs. Targets: tar.xz alone <= 1.05x, both
// outputs together <= 1.0x of the raw tools in sequence.
//
//   npm run build && node bench/pack.mjs
//
// KILN_BENCH_MB sets the root size (default 100, which keeps the four runs
// under 3 minutes on 2 idle cores; KILN_BENCH_MB=200 is issue 7's size).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const targetMb = Number(process.env.KILN_BENCH_MB ?? 100);
const repo = fileURLToPath(new URL('..', import.meta.url));
const SDE = 1700000000;
const jobs = availableParallelism();

// Runs a command and reports wall time and the peak RSS of the largest
// process it started (getrusage RUSAGE_CHILDREN, via python3).
const MEASURE = `
import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:])
ms = (time.monotonic() - t) * 1000
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%d %d %d %d" % (r.returncode, ms, u.ru_maxrss, (u.ru_utime + u.ru_stime) * 1000))
`;

function measure(argv) {
  const r = spawnSync('python3', ['-c', MEASURE, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = r.stdout.trim().split('\n');
  const [rc, ms, rss, cpuMs] = (lines.at(-1) ?? '').split(' ').map(Number);
  if (rc !== 0) throw new Error(`${argv.join(' ')} failed (${rc}): ${r.stdout}`);
  const report = lines.length > 1 ? JSON.parse(lines.at(-2)) : null;
  return { ms, cpuMs, rssMb: rss / 1024, nodeRssMb: report?.nodeRssMb };
}

function duBytes(dir) {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** A root of about targetMb from the host's /usr: python, perl, then shared libraries one by one (a Debian root's mix). */
function makeRoot(root) {
  const sources = [
    '/usr/lib/python3.11',
    '/usr/share/perl',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/share/doc',
    '/usr/share/locale',
  ];
  let total = 0;
  for (const src of sources) {
    let names;
    try {
      names = readdirSync(src).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (total >= targetMb * 1024 * 1024) return total;
      const dest = join(root, src.slice(1));
      mkdirSync(dest, { recursive: true });
      execFileSync('cp', ['-a', join(src, name), dest]);
      total = duBytes(root);
    }
  }
  return total;
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-pack-'));
try {
  const root = join(dir, 'root');
  mkdirSync(root);
  const bytes = makeRoot(root);
  // Equal footing: both sides read from the page cache.
  execFileSync('tar', ['-cf', '/dev/null', '-C', root, '.']);

  const raw = join(dir, 'raw');
  mkdirSync(raw);
  const rawXz = measure(['sh', '-c', `tar -cf - -C '${root}' . | xz -T0 -6 > '${raw}/rootfs.tar.xz'`]);
  const rawSq = measure([
    'gensquashfs',
    '--quiet',
    '--pack-dir',
    root,
    '--keep-time',
    '--keep-xattr',
    '--compressor',
    'xz',
    '--block-size',
    '1048576',
    '--num-jobs',
    String(jobs),
    `${raw}/rootfs.squashfs`,
  ]);

  const runKiln = (name, formats) => {
    const out = join(dir, name);
    mkdirSync(out);
    const script = `
      import { packImage } from ${JSON.stringify(join(repo, 'dist/pack/index.js'))};
      const definition = { image: { distribution: 'bench', release: '1', architecture: 'x86_64', architecture_mapped: 'amd64',
        architecture_kernel: 'x86_64', architecture_personality: 'x86_64', variant: 'default', serial: '1', expiry: '30d',
        name: 'bench', description: 'bench' }, source: { downloader: 'bench' } };
      const plan = { definitionFile: 'bench.yaml', definitionDigest: '', definition, targets: ['lxc'], environment: {},
        source: { kind: 'source', name: 'source', downloader: 'bench', source: definition.source, early: { install: [], remove: [] } },
        steps: [], lxc: { createMessage: '', configFiles: { config: 'lxc.arch = x86_64\\n' } } };
      const r = await packImage({ rootfs: ${JSON.stringify(root)}, plan, outDir: ${JSON.stringify(out)},
        metadata: { lxcTemplates: [], incusTemplates: {}, incusTemplateFiles: {} },
        formats: ${JSON.stringify(formats)}, compression: { method: 'xz' }, squashfsCompression: 'xz',
        sourceDateEpoch: ${SDE}, creationDate: ${SDE}, expiryDate: ${SDE + 86400}, sink: { emit() {} } });
      console.log(JSON.stringify({ timings: r.timings, nodeRssMb: process.resourceUsage().maxRSS / 1024 }));
    `;
    const m = measure(['node', '--input-type=module', '-e', script]);
    return { ...m, out };
  };
  const kilnXz = runKiln('kiln-lxc', ['lxc']);
  const kilnBoth = runKiln('kiln-both', ['lxc', 'incus']);

  const size = (p) => statSync(p).size / 1024 / 1024;
  const rows = [
    [
      'rootfs.tar.xz',
      'tar | xz -T0',
      rawXz.ms,
      kilnXz.ms,
      rawXz.cpuMs,
      kilnXz.cpuMs,
      rawXz.rssMb,
      kilnXz.rssMb,
      size(`${raw}/rootfs.tar.xz`),
      size(`${kilnXz.out}/rootfs.tar.xz`),
      1.05,
    ],
    [
      'tar.xz + squashfs',
      'tar|xz; gensquashfs',
      rawXz.ms + rawSq.ms,
      kilnBoth.ms,
      rawXz.cpuMs + rawSq.cpuMs,
      kilnBoth.cpuMs,
      Math.max(rawXz.rssMb, rawSq.rssMb),
      kilnBoth.rssMb,
      size(`${raw}/rootfs.tar.xz`) + size(`${raw}/rootfs.squashfs`),
      size(`${kilnBoth.out}/rootfs.tar.xz`) + size(`${kilnBoth.out}/rootfs.squashfs`),
      1.0,
    ],
  ];
  console.log(
    `root: ${(bytes / 1024 / 1024).toFixed(0)} MB from /usr, ${jobs} cpus, load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ')}`,
  );
  console.log(
    'output              raw tool              raw s   kiln s  ratio  target  cpu ratio  raw peak RSS MB  kiln peak RSS MB  raw MB  kiln MB',
  );
  for (const [what, tool, r, k, rc, kc, rr, kr, rs, ks, target] of rows) {
    const ratio = k / r;
    console.log(
      `${what.padEnd(20)}${tool.padEnd(22)}${(r / 1000).toFixed(1).padStart(5)}  ${(k / 1000).toFixed(1).padStart(7)}  ${ratio.toFixed(2).padStart(5)}  ${`<=${target.toFixed(2)}`.padStart(6)}  ${(kc / rc).toFixed(2).padStart(9)}` +
        `  ${rr.toFixed(0).padStart(15)}  ${kr.toFixed(0).padStart(16)}  ${rs.toFixed(1).padStart(6)}  ${ks.toFixed(1).padStart(7)}${ratio <= target ? '' : '  (over target)'}`,
    );
  }
  console.log(
    'cpu ratio: user+sys seconds of every process, kiln over raw (meaningful when other work shares the cores)',
  );
  console.log(
    `peak RSS: the largest single process (xz, gensquashfs, tar2sqfs or node); kiln's node process alone: ${kilnXz.nodeRssMb.toFixed(0)} MB (tar.xz), ${kilnBoth.nodeRssMb.toFixed(0)} MB (both)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
