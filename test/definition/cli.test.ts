import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KILN = path.join(ROOT, 'bin/kiln.js');
const BUSYBOX = fileURLToPath(new URL('../corpus/lxc-ci/images/busybox.yaml', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kiln-validate-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function kiln(args: string[], opts: { input?: string; wrap?: string[] } = {}) {
  const argv = [...(opts.wrap ?? []), process.execPath, KILN, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), {
    input: opts.input ?? '',
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BAD = 'image:\n  distribution: x\n  relase: 1\nsource:\n  downloader: debootsrap\n';

describe('kiln validate', () => {
  it('exits 0 for a valid definition and says what it resolved to', () => {
    const r = kiln(['validate', BUSYBOX, '-o', 'image.release=1.38.0', '-o', 'image.architecture=arm64']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${BUSYBOX}: valid (busybox 1.38.0 arm64 default)\n`);
  });

  it('exits 1 and prints every problem as FILE:LINE:COL: path: message', () => {
    const file = path.join(tmp, 'bad.yaml');
    writeFileSync(file, BAD);
    const r = kiln(['validate', file, '-o', 'image.variant=']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toEqual([
      `${file}:3:3: image.relase: unknown key 'relase' (did you mean 'release'?); allowed: distribution, release, architecture, description, expiry, variant, name, serial, architecture_mapped, architecture_kernel, architecture_personality`,
      `${file}:5:15: source.downloader: unknown value 'debootsrap' (did you mean 'debootstrap'?); allowed: ${'almalinux-http, alpinelinux-http, archlinux-http, busybox, centos-http, debootstrap, docker-http, fedora-http, gentoo-http, mmdebstrap, nixos-http, opensuse-http, openwrt-http, rockylinux-http, rootfs-http, ubuntu-http, voidlinux-http'}`,
      `${file}: 2 problems`,
      '',
    ]);
  });

  it('prints diagnostics as JSON with --json', () => {
    const file = path.join(tmp, 'bad-json.yaml');
    writeFileSync(file, BAD);
    const r = kiln(['validate', file, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      valid: boolean;
      diagnostics: Array<{ line: number; col: number; path: string }>;
    };
    expect(out.valid).toBe(false);
    expect(out.diagnostics.map((d) => [d.line, d.col, d.path])).toEqual([
      [3, 3, 'image.relase'],
      [5, 15, 'source.downloader'],
    ]);
  });

  it('exits 2 for usage errors', () => {
    expect(kiln(['validate']).code).toBe(2);
    expect(kiln(['validate', BUSYBOX, BUSYBOX]).code).toBe(2);
    expect(kiln(['validate', BUSYBOX, '--bogus']).code).toBe(2);
    expect(kiln(['plan', BUSYBOX, '--target', 'docker']).code).toBe(2);
  });

  it('reads a multi-line definition from stdin with - (distrobuilder joins stdin lines)', () => {
    const r = kiln(['validate', '-', '-o', 'image.architecture=amd64'], {
      input: 'image:\n  distribution: x\nsource:\n  downloader: busybox\n',
    });
    expect(r).toMatchObject({ code: 0, stdout: '<stdin>: valid (x - amd64 default)\n' });
  });

  it('needs neither root nor a network', () => {
    const r = kiln(['validate', BUSYBOX, '-o', 'image.architecture=amd64'], {
      wrap: ['unshare', '-n', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
    });
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('kiln plan', () => {
  it('prints the steps in build order', () => {
    const r = kiln([
      'plan',
      BUSYBOX,
      '-o',
      'image.release=1.38.0',
      '-o',
      'image.architecture=amd64',
      '-o',
      'image.serial=20260101_00:00',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'busybox-1.38.0-amd64-default-20260101_00:00: Busybox 1.38.0 amd64 (20260101_00:00)',
        'targets: lxc, incus (container)',
        'source: busybox https://busybox.net/downloads/',
        'environment: PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin SHELL=/bin/sh TERM=xterm DEBIAN_FRONTEND=noninteractive',
        'steps:',
        '   1. files[0].dump  /etc/inittab',
        '   2. lxc-systemd-generator  (kiln)',
        'lxc: create-message (2 lines), config, config-user, config-user.1, config-user.2, config-user.3, config-user.4, config.1, config.2, config.3, config.4',
        '',
      ].join('\n'),
    );
  });

  it('prints the plan object with --json, and only Incus parts with --target incus', () => {
    const r = kiln(['plan', BUSYBOX, '--json', '--target', 'incus', '-o', 'image.architecture=amd64']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      targets: string[];
      lxc?: unknown;
      steps: Array<{ name: string }>;
      source: { downloader: string };
    };
    expect(plan.targets).toEqual(['incus']);
    expect(plan.lxc).toBeUndefined();
    expect(plan.source.downloader).toBe('busybox');
    expect(plan.steps.map((s) => s.name)).toEqual(['files[0].dump', 'lxc-systemd-generator']);
  });
});
