import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packImage } from '../../src/pack/index.js';
import { KilnError } from '../../src/util/errors.js';
import { makeBusyboxRoot, packInput } from './fixtures.js';

describe('checksums and signatures', () => {
  let dir: string;
  let root: string;
  let gnupg: string;
  let keyFile: string;
  let fingerprint: string;

  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--homedir', gnupg, ...args], { encoding: 'utf8', stdio: 'pipe' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pack-sign-'));
    root = join(dir, 'root');
    mkdirSync(root);
    makeBusyboxRoot(root);
    gnupg = join(dir, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    gpg('--passphrase', '', '--quick-gen-key', 'kiln test <test@kiln.invalid>', 'ed25519', 'sign', 'never');
    fingerprint =
      gpg('--with-colons', '--list-secret-keys')
        .split('\n')
        .find((l) => l.startsWith('fpr:'))
        ?.split(':')[9] ?? '';
    keyFile = join(dir, 'signing-key.asc');
    gpg(
      '--armor',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--output',
      keyFile,
      '--export-secret-keys',
      fingerprint,
    );
  });
  afterAll(() => {
    spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all']);
    rmSync(dir, { recursive: true, force: true });
  });

  function verifyAll(out: string): void {
    const names = readdirSync(out);
    const ascs = names.filter((n) => n.endsWith('.asc'));
    expect(ascs.sort()).toEqual(
      names
        .filter((n) => !n.endsWith('.asc'))
        .map((n) => `${n}.asc`)
        .sort(),
    );
    for (const asc of ascs) gpg('--verify', join(out, asc), join(out, asc.slice(0, -4)));
    execFileSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: out, stdio: 'pipe' });
  }

  it('signs every artifact and SHA256SUMS with a key file; gpg --verify and sha256sum -c pass', async () => {
    const out = join(dir, 'out-file');
    mkdirSync(out);
    const r = await packImage(packInput(root, out, { sign: keyFile }));
    expect(r.artifacts.filter((a) => a.role === 'signature').length).toBe(
      r.artifacts.filter((a) => a.role !== 'signature').length,
    );
    verifyAll(out);
  });

  it('signs with a key id from the keyring in GNUPGHOME', async () => {
    const out = join(dir, 'out-id');
    mkdirSync(out);
    const old = process.env.GNUPGHOME;
    process.env.GNUPGHOME = gnupg;
    try {
      await packImage(packInput(root, out, { formats: ['lxc'], sign: fingerprint }));
    } finally {
      if (old === undefined) delete process.env.GNUPGHOME;
      else process.env.GNUPGHOME = old;
    }
    verifyAll(out);
  });

  it('a tampered artifact fails both gpg --verify and sha256sum -c', async () => {
    const out = join(dir, 'out-file');
    const tampered = join(dir, 'tampered');
    mkdirSync(tampered);
    for (const n of readdirSync(out)) copyFileSync(join(out, n), join(tampered, n));
    appendFileSync(join(tampered, 'meta.tar.xz'), Buffer.from([0]));
    const v = spawnSync(
      'gpg',
      ['--batch', '--homedir', gnupg, '--verify', join(tampered, 'meta.tar.xz.asc'), join(tampered, 'meta.tar.xz')],
      {
        encoding: 'utf8',
      },
    );
    expect(v.status).not.toBe(0);
    expect(v.stderr).toContain('BAD signature');
    const c = spawnSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: tampered, encoding: 'utf8' });
    expect(c.status).not.toBe(0);
    expect(c.stdout).toContain('meta.tar.xz: FAILED');
  });

  it('rejects an unknown key before packing anything and leaves the directory empty', async () => {
    const out = join(dir, 'out-badkey');
    mkdirSync(out);
    const old = process.env.GNUPGHOME;
    process.env.GNUPGHOME = gnupg;
    try {
      const p = packImage(packInput(root, out, { sign: 'nobody@kiln.invalid' }));
      await expect(p).rejects.toBeInstanceOf(KilnError);
      await expect(p).rejects.toThrow(/signing key "nobody@kiln.invalid" is not a secret key/);
    } finally {
      if (old === undefined) delete process.env.GNUPGHOME;
      else process.env.GNUPGHOME = old;
    }
    expect(readdirSync(out)).toEqual([]);
  });
});
