import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readAptSources, pickDebianMirror } from '../../src/source/apt-mirror.js';
import { sharedRoot } from '../helpers/shared-builds.js';

/** The mirror the host's apt configuration uses for bookworm, as kiln itself picks it. */
async function hostDebianMirror(): Promise<string> {
  const mirror = pickDebianMirror(await readAptSources(), 'bookworm');
  if (!mirror)
    throw new Error(
      'no Debian bookworm mirror (deb, http(s) or file URI) in /etc/apt/sources.list or /etc/apt/sources.list.d/',
    );
  return mirror;
}

/**
 * A minbase bookworm root made with the raw debootstrap, once per test run
 * (shared between test files), as a tarball each test unpacks privately.
 */
export async function debianMinbaseTarball(): Promise<string> {
  const base = path.join(sharedRoot(), 'debian-minbase');
  const tarball = path.join(base, 'rootfs.tar');
  const lock = `${base}.lock`;
  await mkdir(sharedRoot(), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (existsSync(tarball)) return tarball;
    const root = path.join(base, 'root');
    await rm(base, { recursive: true, force: true });
    await mkdir(base, { recursive: true });
    const mirror = await hostDebianMirror();
    const r = await execa('debootstrap', ['--variant=minbase', 'bookworm', root, mirror], { reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`debootstrap failed:\n${r.all?.slice(-3000)}`);
    await execa('tar', ['-C', root, '-cf', `${tarball}.tmp`, '.']);
    await execa('mv', [`${tarball}.tmp`, tarball]);
    await rm(root, { recursive: true, force: true });
    await writeFile(path.join(base, 'mirror'), mirror);
    return tarball;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export async function unpackDebianRoot(dir: string): Promise<string> {
  const tarball = await debianMinbaseTarball();
  await mkdir(dir, { recursive: true });
  await execa('tar', ['-C', dir, '-xf', tarball]);
  return dir;
}
