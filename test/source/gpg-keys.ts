import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestKey {
  armored: string;
  fingerprint: string;
  detachSign(data: Buffer | string): Buffer;
  clearsign(text: string): Buffer;
  dispose(): void;
}

/** A fresh ed25519 signing key made with gpg for this test run only. */
export function makeTestKey(name: string): TestKey {
  const home = mkdtempSync(path.join(os.tmpdir(), 'kiln-testkey-'));
  const g = (args: string[], input?: Buffer | string): Buffer =>
    execFileSync(
      'gpg',
      ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      {
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
  g([
    '--quick-gen-key',
    `${name} <${name.toLowerCase().replace(/\W+/g, '')}@kiln.invalid>`,
    'ed25519',
    'sign',
    'never',
  ]);
  const fpr = g(['--with-colons', '--fingerprint', '--list-keys'])
    .toString()
    .split('\n')
    .find((l) => l.startsWith('fpr:'))!
    .split(':')[9]!;
  const armored = g(['--armor', '--export', fpr]).toString();
  const tmp = (data: Buffer | string): string => {
    const f = path.join(home, `data-${Math.random().toString(36).slice(2)}`);
    writeFileSync(f, data);
    return f;
  };
  return {
    armored,
    fingerprint: fpr,
    detachSign: (data) => g(['--armor', '--local-user', fpr, '--output', '-', '--detach-sign', tmp(data)]),
    clearsign: (text) => g(['--local-user', fpr, '--output', '-', '--clearsign', tmp(text)]),
    dispose: () => {
      try {
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
      } catch {
        // no agent running
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
