import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kilnTempDirs } from '../helpers/host-state.js';
import { kiln } from '../helpers/kiln.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-bounded-steps-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A busybox image whose one action is `script`, with an optional `runtime` section. */
function definition(name: string, script: string, runtime = ''): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'image:',
      '  distribution: busybox',
      '  release: "1.35"',
      'source:',
      '  downloader: busybox',
      runtime,
      'actions:',
      '- trigger: post-unpack',
      '  action: |-',
      '    #!/bin/sh',
      '    set -e',
      ...script.split('\n').map((l) => `    ${l}`),
      'packages:',
      '  custom_manager:',
      ...['clean', 'install', 'remove', 'refresh', 'update'].map((c) => `    ${c}: {cmd: "true"}`),
      '',
    ].join('\n'),
  );
  return file;
}

async function build(file: string, name: string) {
  const work = path.join(dir, `work-${name}`);
  const r = await kiln(['build', file, '--out', path.join(dir, `out-${name}`), '--work-dir', work, '--formats', 'lxc']);
  // Failed or not, the build leaves no work dir behind.
  expect(kilnTempDirs(work)).toEqual([]);
  return r;
}

const WRITE_2G = 'dd if=/dev/zero of=/tmp/big bs=1M count=2048\nrm /tmp/big';

describe('limits of build steps, raised by the definition', () => {
  it('a step writing 2 GB into /tmp of its container is stopped by the default limit', async () => {
    const r = await build(definition('tmp-default', WRITE_2G), 'tmp-default');
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/step post-unpack\[0\]: exited with code 1/);
    expect(r.all).toMatch(/No space left on device/);
  });

  it('the same step passes when the definition raises runtime.tmpfs', async () => {
    const r = await build(definition('tmp-raised', WRITE_2G, 'runtime:\n  tmpfs: 2100M'), 'tmp-raised');
    expect(r.all).toMatch(/published busybox/);
    expect(r.exitCode).toBe(0);
  });

  it('`unshare -U -r true` in a build step fails by default', async () => {
    const r = await build(definition('userns-default', 'unshare -U -r true'), 'userns-default');
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/unshare.*Operation not permitted/);
  });

  it('and works when the definition sets runtime.user_namespaces', async () => {
    const r = await build(
      definition('userns-allowed', 'unshare -U -r true', 'runtime:\n  user_namespaces: true'),
      'userns-allowed',
    );
    expect(r.all).toMatch(/published busybox/);
    expect(r.exitCode).toBe(0);
  });

  it('runtime.memory and runtime.pids reach the step', async () => {
    // A 200 MB shell variable under a 64M limit: the step is OOM-killed.
    const r = await build(
      definition('memory', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a)', 'runtime:\n  memory: 64M\n  pids: 100'),
      'memory',
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/ran out of memory \(raise runtime.memory/);
  });

  it('a bad size in runtime is a definition error with its position', async () => {
    const file = definition('bad', 'true', 'runtime:\n  tmpfs: lots');
    const r = await kiln(['validate', file]);
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toContain(`${file}:7:10: runtime.tmpfs: 'lots' is not a size such as 512M, 2G or 1048576`);
    expect(r.all).toMatch(/a size such as 512M, 2G or 1048576/);
    expect(r.all).not.toMatch(/\n\s+at /);
  });
});
