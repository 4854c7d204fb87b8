/**
 * The RHEL family's way to a root (definitions-spec section 2): the
 * verified ISO is read without mounting (xorriso), its installer image
 * (`LiveOS/squashfs.img` or `images/install.img`, possibly wrapping an
 * ext4 `LiveOS/rootfs.img`) becomes a throw-away container root, and inside
 * it dnf (or yum) installs a minimal tree from the ISO's own repositories
 * into the image root, bind-mounted at /rootfs.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { runInContainer } from '../runtime/index.js';
import { log } from '../util/events.js';
import type { SourceContext } from './types.js';
import { SourceError } from './errors.js';
import { dumpExtPartition } from './disk-image.js';
import { unpackArchive } from './unpack/index.js';
import { pathExists } from '../util/fs.js';

export interface IsoInstall {
  /** e.g. rocky-release, almalinux-release, centos-stream-release. */
  releasePackage: string;
  /** --releasever (the major version). */
  releasever: string;
  /** URL of the ISO, for messages. */
  what: string;
}

const INSTALLERS = ['LiveOS/squashfs.img', 'images/install.img'];
/** Repository directories an install ISO may carry, in the order they are tried. */
const REPO_DIRS = ['BaseOS', 'AppStream', 'Minimal', '.'];

/** Extracts the whole ISO 9660 tree into `dest` with xorriso (Rock Ridge names and modes). */
export async function extractIso(iso: string, dest: string, what: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true });
  const r = await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', dest], {
    reject: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (r.exitCode !== 0) {
    const lines = String(r.stderr)
      .split('\n')
      .filter((l) => /FAILURE|SORRY|FATAL/.test(l));
    throw new SourceError(`${what}: cannot read the ISO (${lines[0]?.trim() ?? `xorriso exit ${r.exitCode}`})`, {
      details: lines.slice(1, 8),
    });
  }
  // ISO files come out read-only; the tree is only read, but must be removable.
  await execa('chmod', ['-R', 'u+w', dest]);
}

/** The ISO's repositories (directories holding repodata/), relative to its root. */
export async function isoRepositories(tree: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of REPO_DIRS) if (await pathExists(path.join(tree, dir, 'repodata', 'repomd.xml'))) out.push(dir);
  return out;
}

export function installScript(repos: string[], keys: string[], opts: IsoInstall): string {
  const gpg =
    keys.length > 0 ? `gpgcheck=1\ngpgkey=${keys.map((k) => `file:///mnt/cdrom/${k}`).join(' ')}` : 'gpgcheck=0';
  const sections = repos
    .map(
      (r) =>
        `[kiln-cdrom-${r === '.' ? 'main' : r}]\nname=ISO ${r}\nbaseurl=file:///mnt/cdrom/${r === '.' ? '' : r}\nenabled=1\n${gpg}\n`,
    )
    .join('\n');
  return `#!/bin/sh
set -eu
mkdir -p /etc/yum.repos.d
cat > /etc/yum.repos.d/kiln-cdrom.repo <<'KILN_REPO'
${sections}KILN_REPO
if command -v dnf >/dev/null 2>&1; then pm=dnf; else pm=yum; fi
$pm --installroot=/rootfs --releasever=${opts.releasever} --disablerepo='*' --enablerepo='kiln-cdrom-*' \\
  --setopt=install_weak_deps=False --setopt=tsflags=nodocs -y install basesystem ${opts.releasePackage} $pm
$pm --installroot=/rootfs clean all || true
`;
}

/** Fills ctx.rootfs from a verified install ISO; returns what it found for the record. */
export async function installFromIso(
  ctx: SourceContext,
  iso: string,
  opts: IsoInstall,
): Promise<Record<string, string>> {
  const tmp = await mkdtemp(path.join(ctx.workDir, 'iso-'));
  try {
    const tree = path.join(tmp, 'iso');
    await extractIso(iso, tree, opts.what, ctx.signal);
    const installer = await firstExisting(tree, INSTALLERS);
    if (!installer)
      throw new SourceError(
        `${opts.what}: the ISO has neither ${INSTALLERS.join(' nor ')}; not an install or live ISO of this family`,
      );
    const repos = await isoRepositories(tree);
    if (repos.length === 0) {
      throw new SourceError(
        `${opts.what}: the ISO carries no package repository (no repodata/ in ${REPO_DIRS.join(', ')}); use a minimal or dvd ISO (source.variant), not boot`,
      );
    }
    const keys = (await readdir(tree)).filter((n) => n.startsWith('RPM-GPG-KEY')).sort();
    if (keys.length === 0)
      log(
        ctx.sink,
        'warn',
        `${opts.what}: no RPM-GPG-KEY-* on the ISO; its packages are trusted through the ISO's checksum only`,
      );

    const squash = path.join(tmp, 'squash');
    await mkdir(squash);
    await unpackArchive(path.join(tree, installer), squash, {
      sink: ctx.sink,
      signal: ctx.signal,
      limits: ctx.limits,
      task: 'unpack installer image',
    });
    let installerRoot = squash;
    const ext = path.join(squash, 'LiveOS', 'rootfs.img');
    if (await pathExists(ext)) {
      installerRoot = path.join(tmp, 'installer');
      await mkdir(installerRoot);
      await dumpExtPartition(
        ext,
        { number: 1, start: 0, size: 0, type: 'ext4' },
        installerRoot,
        `${opts.what}: ${installer}/LiveOS/rootfs.img`,
        ctx.signal,
      );
      await rm(squash, { recursive: true, force: true });
    }
    log(ctx.sink, 'info', `installing a minimal tree from ${repos.join(', ')} of ${path.basename(opts.what)}`);
    await installInContainer(ctx, installerRoot, tree, installScript(repos, keys, opts));
    return { installer, repositories: repos.join(',') };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) if (await pathExists(path.join(dir, n))) return n;
  return undefined;
}

async function installInContainer(
  ctx: SourceContext,
  installerRoot: string,
  tree: string,
  script: string,
): Promise<void> {
  const partial = { stdout: '', stderr: '' };
  const result = await runInContainer({
    rootfs: installerRoot,
    script,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' },
    network: 'none',
    binds: [
      { source: tree, target: '/mnt/cdrom' },
      { source: ctx.rootfs, target: '/rootfs', readWrite: true },
    ],
    onOutput: (stream, chunk) => {
      const lines = (partial[stream] + chunk.toString('utf8')).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const line of lines) ctx.sink.emit({ type: 'output', step: 'source', stream, line });
    },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (result.end.kind !== 'exited' || result.exitCode !== 0) {
    throw new SourceError(`the minimal tree install from the ISO failed (exit ${result.exitCode})`, {
      details: result.tail.slice(-10),
    });
  }
}
