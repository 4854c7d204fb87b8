#!/usr/bin/env node
// Cross-architecture cost: definitions/debian.yaml bookworm built for the
// host's architecture and for arm64 (debootstrap --foreign, the second stage
// and every step through qemu-user) in the same run, same cache, one after
// the other. The package cache is warmed first so both time the build, not
// the mirror. A figure, no target yet (issue 17).
//
// Usage: node bench/cross-arch.mjs [ARCH] [--no-warm]   (default arm64)
// Needs root, qemu-user-static and `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const warm = !args.includes('--no-warm');
const foreign = args.find((a) => !a.startsWith('--')) ?? 'arm64';
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bench-xarch-'));
const cache = path.join(dir, 'cache');

function build(arch, tag) {
  const t0 = process.hrtime.bigint();
  execFileSync(
    'node',
    [
      path.join(repo, 'bin/kiln.js'),
      'build',
      path.join(repo, 'definitions/debian.yaml'),
      '-o',
      'image.release=bookworm',
      '-o',
      `image.architecture=${arch}`,
      '--out',
      path.join(dir, `out-${tag}`),
      '--cache-dir',
      cache,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

try {
  const host = { x86_64: 'amd64', aarch64: 'arm64' }[machine()] ?? machine();
  if (warm) {
    build(host, 'warm-host');
    build(foreign, 'warm-foreign');
  }
  const native = build(host, 'host');
  const emulated = build(foreign, 'foreign');
  console.log(`debian bookworm ${host} (native):       ${native.toFixed(0)} s`);
  console.log(`debian bookworm ${foreign} (qemu-user):   ${emulated.toFixed(0)} s`);
  console.log(`ratio: ${(emulated / native).toFixed(1)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
