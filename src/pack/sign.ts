import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leashed } from '../util/leash.js';
import { execa } from 'execa';
import { KilnError } from '../util/errors.js';

/**
 * Detached armored signatures with gpg. `key` is a key id/fingerprint/user
 * id in the caller's keyring (GNUPGHOME), or the path of an exported secret
 * key file, which is imported into a throw-away keyring for the signing.
 */
export class Signer {
  private constructor(
    private readonly env: Record<string, string>,
    private readonly keyId: string,
    private readonly home: string | null,
  ) {}

  static async open(key: string, signal?: AbortSignal): Promise<Signer> {
    const isFile = await stat(key).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) {
      const s = new Signer({}, key, null);
      await s.check(signal);
      return s;
    }
    const home = await mkdtemp(join(tmpdir(), 'kiln-gpg-'));
    try {
      const env = { GNUPGHOME: home };
      await gpg(env, ['--import', key], `cannot import signing key file ${key}`, signal);
      const listed = await gpg(env, ['--list-secret-keys', '--with-colons'], `cannot list keys of ${key}`, signal);
      const fpr = listed
        .split('\n')
        .find((l) => l.startsWith('fpr:'))
        ?.split(':')[9];
      if (!fpr)
        throw new KilnError(`signing key file ${key} holds no secret key: export it with gpg --export-secret-keys`);
      return new Signer(env, fpr, home);
    } catch (e) {
      await rm(home, { recursive: true, force: true });
      throw e;
    }
  }

  private async check(signal?: AbortSignal): Promise<void> {
    await gpg(
      this.env,
      ['--list-secret-keys', '--', this.keyId],
      `signing key "${this.keyId}" is not a secret key in the gpg keyring (${process.env.GNUPGHOME ?? '~/.gnupg'}) nor a key file`,
      signal,
    );
  }

  /** Writes the armored detached signature of `file` to `asc`. */
  async sign(file: string, asc: string, signal?: AbortSignal): Promise<void> {
    await gpg(
      this.env,
      ['--local-user', this.keyId, '--armor', '--detach-sign', '--output', asc, '--', file],
      `gpg could not sign ${file} with key ${this.keyId}`,
      signal,
    );
  }

  async close(): Promise<void> {
    if (this.home === null) return;
    // gpg started an agent for the throw-away keyring: stop it with the keyring.
    await execa('gpgconf', ['--kill', 'all'], { env: this.env, reject: false });
    await rm(this.home, { recursive: true, force: true });
  }
}

async function gpg(env: Record<string, string>, args: string[], what: string, signal?: AbortSignal): Promise<string> {
  const r = await execa(
    ...leashed('gpg', ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]),
    {
      env,
      reject: false,
      stdin: 'ignore',
      ...(signal ? { cancelSignal: signal } : {}),
    },
  );
  if (r.exitCode === 127 && String(r.stderr).includes('kiln-leash: cannot execute'))
    throw new KilnError('gpg is not installed: kiln needs it for --sign');
  if (signal?.aborted) throw signal.reason;
  if (r.exitCode !== 0) {
    throw new KilnError(what, { details: String(r.stderr).trim().split('\n').slice(-5) });
  }
  return String(r.stdout);
}
