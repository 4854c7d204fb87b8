/**
 * Real image builds for publish/serve tests, made the way the pack stage
 * makes them (busybox rootfs tarred with numeric owners, an LXC meta.tar.xz,
 * an Incus metadata tarball, a squashfs from tar2sqfs, SHA256SUMS and
 * build.json), so tests never wait for the pack stage.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactRecord, BuildRecord } from '../../src/pipeline/record.js';

export interface FixtureOptions {
  dist?: string;
  release?: string;
  arch?: string;
  variant?: string;
  serial: string;
  userConfig?: boolean;
  /** Which artifacts to make; default all. */
  lxc?: boolean;
  incus?: boolean;
  aliases?: string[];
}

function sh(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer; env?: NodeJS.ProcessEnv } = {}): Buffer {
  return execFileSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** A busybox root like lxc-download-smoke.sh makes: busybox, its applet links, inittab, passwd. */
async function makeBusyboxRoot(r: string): Promise<void> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'run', 'var/log'])
    await mkdir(join(r, d), { recursive: true });
  await cp('/bin/busybox', join(r, 'bin/busybox'));
  for (const a of sh('/bin/busybox', ['--list-full']).toString().split('\n').filter(Boolean)) {
    await symlink('/bin/busybox', join(r, a)).catch(() => undefined);
  }
  await writeFile(
    join(r, 'etc/inittab'),
    '::sysinit:/bin/hostname -F /etc/hostname\n::respawn:/bin/sleep 86400\n::shutdown:/bin/sync\n',
  );
  await writeFile(join(r, 'etc/hostname'), 'LXC_NAME\n');
  await writeFile(join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(r, 'etc/group'), 'root:x:0:\n');
}

/**
 * Makes a complete build in a fresh staging directory and returns it with
 * its record. Every build gets its own serial inside the rootfs, so builds
 * differ and so do their fingerprints.
 */
export async function makeBuild(parent: string, o: FixtureOptions): Promise<{ staging: string; record: BuildRecord }> {
  const p = {
    distribution: o.dist ?? 'kilntest',
    release: o.release ?? '1',
    arch: o.arch ?? 'amd64',
    variant: o.variant ?? 'default',
  };
  const lxc = o.lxc ?? true;
  const incus = o.incus ?? true;
  const userConfig = o.userConfig ?? true;
  const staging = await mkdtemp(join(parent, 'staging-'));
  const work = await mkdtemp(join(parent, 'work-'));
  try {
    const root = join(work, 'rootfs');
    await makeBusyboxRoot(root);
    await writeFile(join(root, 'etc/kiln-serial'), `${o.serial}\n`);
    const now = Math.floor(Date.now() / 1000);
    const env = { ...process.env, XZ_OPT: '-0' };
    sh('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cJf', join(staging, 'rootfs.tar.xz'), '.'], {
      env,
    });
    const artifacts: ArtifactRecord[] = [];
    const add = async (name: string, role: string) => {
      const f = join(staging, name);
      artifacts.push({ name, role, size: (await stat(f)).size, sha256: await sha256(f) });
    };
    if (lxc) {
      const m = join(work, 'meta');
      await mkdir(m);
      const common = 'lxc.arch = x86_64\nlxc.signal.halt = SIGUSR1\nlxc.signal.reboot = SIGTERM\n';
      await writeFile(join(m, 'config'), `lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n${common}`);
      const files = ['config', 'create-message', 'expiry', 'excludes-user', 'templates'];
      if (userConfig) {
        await writeFile(
          join(m, 'config-user'),
          `lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n${common}`,
        );
        files.push('config-user');
      }
      await writeFile(
        join(m, 'create-message'),
        `kiln test image ${p.distribution} ${p.release} (serial ${o.serial}).\n`,
      );
      await writeFile(join(m, 'expiry'), `${now + 30 * 86400}\n`);
      await writeFile(join(m, 'excludes-user'), '');
      await writeFile(join(m, 'templates'), '/etc/hostname\n');
      sh(
        'tar',
        ['--numeric-owner', '--owner=0', '--group=0', '-C', m, '-cJf', join(staging, 'meta.tar.xz'), ...files],
        { env },
      );
      await add('rootfs.tar.xz', 'lxc.rootfs');
      await add('meta.tar.xz', 'lxc.meta');
    }
    if (incus) {
      const m = join(work, 'incus');
      await mkdir(join(m, 'templates'), { recursive: true });
      await writeFile(
        join(m, 'metadata.yaml'),
        [
          'architecture: x86_64',
          `creation_date: ${now}`,
          `expiry_date: ${now + 30 * 86400}`,
          'properties:',
          `  os: ${p.distribution}`,
          `  release: "${p.release}"`,
          `  variant: ${p.variant}`,
          '  architecture: x86_64',
          `  description: ${p.distribution} ${p.release} ${p.arch} (${p.variant}) (${o.serial})`,
          `  serial: "${o.serial}"`,
          'templates:',
          '  /etc/hostname:',
          '    when: [create, copy]',
          '    template: hostname.tpl',
          '',
        ].join('\n'),
      );
      await writeFile(join(m, 'templates/hostname.tpl'), '{{ instance.name }}\n');
      sh(
        'tar',
        [
          '--numeric-owner',
          '--owner=0',
          '--group=0',
          '-C',
          m,
          '-cJf',
          join(staging, 'incus.tar.xz'),
          'metadata.yaml',
          'templates',
        ],
        { env },
      );
      const tarball = sh('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', '-', '.']);
      sh('tar2sqfs', ['-q', '-f', '-c', 'gzip', join(staging, 'rootfs.squashfs')], { input: tarball });
      await add('incus.tar.xz', 'incus.meta');
      await add('rootfs.squashfs', 'squashfs');
      if (!lxc) await rm(join(staging, 'rootfs.tar.xz'));
      else if (!artifacts.some((a) => a.name === 'rootfs.tar.xz')) await add('rootfs.tar.xz', 'lxc.rootfs');
    }
    if (!lxc && !incus) await rm(join(staging, 'rootfs.tar.xz'));
    const fingerprints: BuildRecord['fingerprints'] = {};
    const concat = async (a: string, b: string) =>
      createHash('sha256')
        .update(await readFile(join(staging, a)))
        .update(await readFile(join(staging, b)))
        .digest('hex');
    if (incus) {
      fingerprints.combined_squashfs_sha256 = await concat('incus.tar.xz', 'rootfs.squashfs');
      if (lxc)
        fingerprints.combined_rootxz_sha256 = fingerprints.combined_sha256 = await concat(
          'incus.tar.xz',
          'rootfs.tar.xz',
        );
    }
    const record: BuildRecord = {
      kiln: { version: 'test' },
      product: p,
      serial: o.serial,
      os: p.distribution.charAt(0).toUpperCase() + p.distribution.slice(1),
      releaseTitle: p.release,
      aliases: o.aliases ?? [`${p.distribution}/${p.release}`],
      description: `${p.distribution} ${p.release} test image`,
      userConfig: lxc && userConfig,
      creationDate: now,
      expiryDate: now + 30 * 86400,
      definition: { file: 'test.yaml', digest: '0'.repeat(64) },
      sources: [],
      artifacts,
      fingerprints,
      timings: {},
    };
    await writeSums(staging, artifacts);
    await writeFile(join(staging, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    return { staging, record };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function writeSums(dir: string, artifacts: ArtifactRecord[]): Promise<void> {
  await writeFile(join(dir, 'SHA256SUMS'), artifacts.map((a) => `${a.sha256}  ${a.name}\n`).join(''));
}

/** A copy of a build under another serial (same artifact bytes): cheap builds for loops. */
export async function cloneBuild(
  parent: string,
  from: { staging: string; record: BuildRecord },
  serial: string,
): Promise<{ staging: string; record: BuildRecord }> {
  const staging = await mkdtemp(join(parent, 'staging-'));
  for (const f of await readdir(from.staging))
    if (f !== 'build.json') await cp(join(from.staging, f), join(staging, f));
  const record: BuildRecord = { ...from.record, serial };
  await writeFile(join(staging, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
  return { staging, record };
}

/** `n` serials a minute apart, oldest first, in lxc-ci format. */
export function serials(n: number, start = Date.UTC(2026, 0, 1)): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = new Date(start + i * 60_000);
    const p = (x: number) => String(x).padStart(2, '0');
    out.push(
      `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`,
    );
  }
  return out;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `kiln-${prefix}-`));
}
