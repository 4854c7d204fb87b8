import { execa } from 'execa';
import { MirrorError } from './errors.js';

/**
 * Checks a detached signature with gpgv against the keyring the user named
 * (`gpg --export` output): no keyserver, no trust database, nothing but
 * that file's keys.
 */
export async function verifySignature(keyring: string, sig: string, file: string, what: string): Promise<void> {
  const r = await execa('gpgv', ['--keyring', keyring, sig, file], { reject: false, all: true });
  if (r.failed && r.exitCode === undefined)
    throw new MirrorError(`gpgv cannot run (${r.shortMessage}); install the Debian package gpgv`);
  if (r.exitCode !== 0) {
    const why = (r.all ?? '').split('\n').find((l) => /BAD|No public key|Can't check|not a detached/i.test(l));
    throw new MirrorError(
      `${what}: signature check failed with ${keyring}${why ? ` (${why.replace(/^gpgv: /, '').trim()})` : ''}; refused`,
    );
  }
}
