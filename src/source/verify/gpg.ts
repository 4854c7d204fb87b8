import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { log, type EventSink } from '../../util/events.js';
import { SourceError, VerificationError } from '../errors.js';

/** Where Debian-family hosts keep archive keys; fingerprints are looked up here before any keyserver. */
const HOST_KEYRING_DIRS = ['/usr/share/keyrings', '/etc/apt/trusted.gpg.d'];

export interface Keyring {
  /** An exported OpenPGP keyring file (for gpgv and debootstrap --keyring). */
  file: string;
  /** Primary fingerprints of every key in it. */
  fingerprints: string[];
  dispose(): Promise<void>;
}

export interface KeyringOptions {
  keyserver?: string | undefined;
  sink?: EventSink | undefined;
  /** Directories searched for fingerprints; defaults to the host's apt keyrings. */
  hostKeyringDirs?: string[];
}

/**
 * Builds a throw-away keyring from a definition's `keys`: armored public key
 * blocks are imported as they are; fingerprints are taken from the host's
 * apt keyrings, else fetched from `keyserver` (only when one is set).
 */
export async function buildKeyring(keys: string[], opts: KeyringOptions = {}): Promise<Keyring> {
  // Short path under /tmp: gpg's agent sockets live in the homedir.
  const home = await mkdtemp(path.join(os.tmpdir(), 'kiln-gpg-'));
  await chmod(home, 0o700);
  const dispose = async (): Promise<void> => {
    await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
    await rm(home, { recursive: true, force: true });
  };
  try {
    for (const [i, key] of keys.entries()) {
      const where = `source.keys[${i}]`;
      if (key.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
        const r = await gpg(home, ['--import'], key);
        const imported = statusLines(r.stdout, 'IMPORT_OK').map((f) => f[1]!);
        if (imported.length === 0)
          throw new VerificationError(`${where}: not a valid armored public key (${firstLine(r.stderr)})`);
        continue;
      }
      const fpr = key.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase();
      if (!/^([0-9A-F]{16}|[0-9A-F]{40}|[0-9A-F]{64})$/.test(fpr)) {
        throw new VerificationError(
          `${where}: "${key.slice(0, 60)}" is neither an armored public key block nor a 16/40/64-hex-digit key id or fingerprint`,
        );
      }
      if (await importFromHost(home, fpr, opts.hostKeyringDirs ?? HOST_KEYRING_DIRS)) continue;
      if (!opts.keyserver) {
        throw new VerificationError(
          `${where}: key ${fpr} is not in the host keyrings and source.keyserver is not set; paste the armored key or set a keyserver`,
        );
      }
      await receiveKey(home, fpr, opts.keyserver, where, opts.sink);
    }
    const fingerprints = await listFingerprints(home);
    const file = path.join(home, 'keyring.gpg');
    const r = await gpg(home, ['--output', file, '--export']);
    if (r.exitCode !== 0) throw new SourceError(`gpg --export failed: ${firstLine(r.stderr)}`);
    return { file, fingerprints, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

async function importFromHost(home: string, fpr: string, dirs: string[]): Promise<boolean> {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.gpg')).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const exported = await execa(
        'gpg',
        ['--homedir', home, '--batch', '--no-default-keyring', '--keyring', path.join(dir, name), '--export', fpr],
        { reject: false, encoding: 'buffer' },
      );
      if (exported.exitCode === 0 && exported.stdout.length > 0) {
        const r = await gpg(home, ['--import'], Buffer.from(exported.stdout));
        if (statusLines(r.stdout, 'IMPORT_OK').length > 0) return true;
      }
    }
  }
  return false;
}

async function receiveKey(
  home: string,
  fpr: string,
  keyserver: string,
  where: string,
  sink?: EventSink,
): Promise<void> {
  const args = ['--keyserver', keyserver];
  const proxy = process.env.https_proxy ?? process.env.HTTPS_PROXY ?? process.env.http_proxy ?? process.env.HTTP_PROXY;
  if (proxy) args.push('--keyserver-options', `http-proxy=${proxy}`);
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await sleep(2000);
    const r = await gpg(home, [...args, '--recv-keys', fpr]);
    if (statusLines(r.stdout, 'IMPORT_OK').length > 0) {
      const got = await listFingerprints(home);
      if (!got.some((g) => g.endsWith(fpr))) {
        throw new VerificationError(`${where}: keyserver ${keyserver} returned a key that does not match ${fpr}`);
      }
      if (sink) log(sink, 'info', `${where}: fetched ${fpr} from ${keyserver}`);
      return;
    }
    last = firstLine(r.stderr);
  }
  throw new VerificationError(`${where}: cannot fetch key ${fpr} from keyserver ${keyserver}: ${last}`);
}

async function listFingerprints(home: string): Promise<string[]> {
  const r = await gpg(home, ['--with-colons', '--fingerprint', '--list-keys']);
  const out: string[] = [];
  let wantPrimary = false;
  for (const line of r.stdout.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') wantPrimary = true;
    else if (f[0] === 'fpr' && wantPrimary) {
      out.push(f[9]!);
      wantPrimary = false;
    }
  }
  return out;
}

async function gpg(
  home: string,
  args: string[],
  input?: string | Buffer,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('gpg', ['--homedir', home, '--batch', '--no-tty', '--status-fd', '1', ...args], {
    reject: false,
    ...(input !== undefined ? { input } : {}),
  });
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function statusLines(stdout: string, keyword: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`[GNUPG:] ${keyword} `) || l === `[GNUPG:] ${keyword}`)
    .map((l) => l.split(' ').slice(2));
}

function firstLine(s: string): string {
  return (
    s
      .trim()
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'no output'
  );
}

/**
 * Checks gpgv's status output: at least one good signature by a key of the
 * keyring and no bad one. Returns the signing primary key's fingerprint.
 */
function judge(what: string, status: string, stderr: string): string {
  if (statusLines(status, 'BADSIG').length > 0) throw new VerificationError(`${what}: BAD signature`);
  const valid = statusLines(status, 'VALIDSIG');
  if (valid.length > 0) return valid[0]![9] ?? valid[0]![0]!;
  const missing = [...statusLines(status, 'NO_PUBKEY'), ...statusLines(status, 'ERRSIG')].map((f) => f[0]!);
  if (missing.length > 0)
    throw new VerificationError(`${what}: signed by unknown key ${missing[0]} (not in source.keys)`);
  if (statusLines(status, 'EXPKEYSIG').length > 0) throw new VerificationError(`${what}: signed by an expired key`);
  if (statusLines(status, 'REVKEYSIG').length > 0) throw new VerificationError(`${what}: signed by a revoked key`);
  if (statusLines(status, 'NODATA').length > 0) throw new VerificationError(`${what}: no OpenPGP signature found`);
  throw new VerificationError(`${what}: signature could not be verified (${firstLine(stderr)})`);
}

/** Verifies a detached signature (armored or binary) over `dataFile`. */
export async function verifyDetached(
  keyring: Keyring,
  what: string,
  signature: Buffer,
  dataFile: string,
): Promise<string> {
  const home = path.dirname(keyring.file);
  const sig = path.join(home, `sig-${process.pid}-${Date.now()}`);
  await writeFile(sig, signature);
  try {
    const r = await execa('gpgv', ['--homedir', home, '--keyring', keyring.file, '--status-fd', '1', sig, dataFile], {
      reject: false,
    });
    return judge(what, String(r.stdout), String(r.stderr));
  } finally {
    await rm(sig, { force: true });
  }
}

/** Verifies a clearsigned document and returns only the signed text (never what surrounds it). */
export async function verifyClearsigned(
  keyring: Keyring,
  what: string,
  doc: Buffer,
): Promise<{ fingerprint: string; content: Buffer }> {
  const home = path.dirname(keyring.file);
  const stamp = `${process.pid}-${Date.now()}`;
  const input = path.join(home, `doc-${stamp}`);
  const output = path.join(home, `out-${stamp}`);
  await writeFile(input, doc);
  try {
    const r = await execa(
      'gpgv',
      ['--homedir', home, '--keyring', keyring.file, '--status-fd', '1', '--output', output, input],
      {
        reject: false,
      },
    );
    const fingerprint = judge(what, String(r.stdout), String(r.stderr));
    return { fingerprint, content: await readFile(output) };
  } finally {
    await rm(input, { force: true });
    await rm(output, { force: true });
  }
}
