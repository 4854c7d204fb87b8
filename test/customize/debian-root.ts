import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sharedRoot } from '../helpers/shared-builds.js';

/** The Debian mirror of the host's apt configuration (deb822 or one-line). */
export function hostDebianMirror(): string {
  const texts: string[] = [];
  for (const dir of ['/etc/apt/sources.list.d']) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (/\.(sources|list)$/.test(f)) texts.push(readFileSync(path.join(dir, f), 'utf8'));
  }
  if (existsSync('/etc/apt/sources.list')) texts.push(readFileSync('/etc/apt/sources.list', 'utf8'));
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? '';
      if (uri && /\bbookworm\b/.test(suites) && !uri.includes('security')) return uri;
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/.exec(line);
      if (m && !m[1]?.includes('security')) return m[1] as string;
    }
  }
  throw new Error('no Debian bookworm mirror in the host apt configuration');
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
    const r = await execa('debootstrap', ['--variant=minbase', 'bookworm', root, hostDebianMirror()], { reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`debootstrap failed:\n${r.all?.slice(-3000)}`);
    await execa('tar', ['-C', root, '-cf', `${tarball}.tmp`, '.']);
    await execa('mv', [`${tarball}.tmp`, tarball]);
    await rm(root, { recursive: true, force: true });
    await writeFile(path.join(base, 'mirror'), hostDebianMirror());
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
