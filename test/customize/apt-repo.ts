import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A throw-away gpg signing key; returns its home and armored public key. */
export async function makeSigningKey(dir: string, uid: string): Promise<{ home: string; armored: string }> {
  const home = path.join(dir, `gnupg-${uid.replace(/\W/g, '')}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  await execa('gpg', [
    '--homedir',
    home,
    '--batch',
    '--passphrase',
    '',
    '--quick-gen-key',
    `${uid} <${uid}@kiln.invalid>`,
    'ed25519',
    'sign',
    'never',
  ]);
  const { stdout } = await execa('gpg', ['--homedir', home, '--armor', '--export']);
  return { home, armored: stdout };
}

export interface TestPackage {
  name: string;
  /** postinst script body (after `#!/bin/sh\nset -e\n`). */
  postinst?: string;
}

async function buildDeb(work: string, pkg: TestPackage): Promise<string> {
  const tree = path.join(work, `${pkg.name}-tree`);
  await mkdir(path.join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(path.join(tree, 'usr/share', pkg.name), { recursive: true });
  await writeFile(path.join(tree, 'usr/share', pkg.name, 'installed'), `${pkg.name}\n`);
  await writeFile(
    path.join(tree, 'DEBIAN/control'),
    `Package: ${pkg.name}\nVersion: 1.0\nArchitecture: all\nMaintainer: kiln tests <tests@kiln.invalid>\nDescription: kiln test package\n`,
  );
  if (pkg.postinst) {
    await writeFile(path.join(tree, 'DEBIAN/postinst'), `#!/bin/sh\nset -e\n${pkg.postinst}\n`);
    await chmod(path.join(tree, 'DEBIAN/postinst'), 0o755);
  }
  const deb = path.join(work, `${pkg.name}_1.0_all.deb`);
  await execa('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  return deb;
}

/**
 * A flat apt repository (`deb URL ./`) in `dir` holding `packages`, its
 * InRelease clear-signed with `signer`.
 */
export async function makeFlatRepo(dir: string, packages: TestPackage[], signer: { home: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stanzas: string[] = [];
  for (const pkg of packages) {
    const deb = await buildDeb(dir, pkg);
    const bytes = await readFile(deb);
    stanzas.push(
      [
        `Package: ${pkg.name}`,
        'Version: 1.0',
        'Architecture: all',
        'Maintainer: kiln tests <tests@kiln.invalid>',
        `Filename: ./${path.basename(deb)}`,
        `Size: ${(await stat(deb)).size}`,
        `SHA256: ${createHash('sha256').update(bytes).digest('hex')}`,
        'Description: kiln test package',
      ].join('\n'),
    );
  }
  const packagesText = `${stanzas.join('\n\n')}\n`;
  await writeFile(path.join(dir, 'Packages'), packagesText);
  const sha = createHash('sha256').update(packagesText).digest('hex');
  const release = `Origin: kiln\nLabel: kiln\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha} ${Buffer.byteLength(packagesText)} Packages\n`;
  await writeFile(path.join(dir, 'Release'), release);
  await execa('gpg', [
    '--homedir',
    signer.home,
    '--batch',
    '--yes',
    '--clearsign',
    '-o',
    path.join(dir, 'InRelease'),
    path.join(dir, 'Release'),
  ]);
}
