import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { KilnError } from '../util/errors.js';
import { log, type EventSink } from '../util/events.js';
import { stateDir, withTreeLock } from '../publish/tree-lock.js';

/** Every key kiln makes: P-256, unencrypted (the server reads it unattended). */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface LocalTls {
  caPath: string;
  certPath: string;
  keyPath: string;
  /** A wgetrc trusting the CA, for `WGETRC=... lxc-create -t download`. */
  wgetrcPath: string;
}

/** Names the server certificate must carry for a listen host. */
export function certificateNames(listenHost: string): string[] {
  const names = ['127.0.0.1', '::1', 'localhost'];
  if (listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '') names.push(hostname());
  else names.push(listenHost);
  return [...new Set(names)];
}

function sanEntry(name: string): string {
  return isIP(name) ? `IP:${name}` : `DNS:${name}`;
}

/** True when `certPem` is signed by `caPem`, names every host and is valid for 30 more days. */
function certificateFits(certPem: string, caPem: string, names: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (new Date(cert.validTo).getTime() < Date.now() + 30 * 86_400_000) return false;
    return names.every((n) => (isIP(n) ? cert.checkIP(n) !== undefined : cert.checkHost(n) !== undefined));
  } catch {
    return false;
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execa('openssl', args, { stdin: 'ignore' });
  } catch (e) {
    const err = e as { stderr?: string; shortMessage?: string };
    throw new KilnError(
      `openssl ${args[0]} failed: ${(err.stderr || err.shortMessage || String(e)).trim().split('\n')[0]}`,
    );
  }
}

/**
 * A local CA and a server certificate under `<tree>/.kiln/tls/`, made once
 * and reused, so clients trust the server across restarts. The server never
 * serves dot-directories, so the CA key stays private. A new server
 * certificate (same CA) is made when the listen host is not in it.
 */
export async function ensureLocalTls(tree: string, listenHost: string, sink: EventSink): Promise<LocalTls> {
  const dir = join(stateDir(tree), 'tls');
  const out: LocalTls = {
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, 'server.pem'),
    keyPath: join(dir, 'server.key'),
    wgetrcPath: join(stateDir(tree), 'wgetrc'),
  };
  const names = certificateNames(listenHost);
  await withTreeLock(tree, sink, async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const caKey = join(dir, 'ca.key');
    let caPem = await readFile(out.caPath, 'utf8').catch(() => '');
    const haveKey = await readFile(caKey, 'utf8').then(
      () => true,
      () => false,
    );
    if (!caPem || !haveKey) {
      log(sink, 'info', `creating a local certificate authority in ${dir}`);
      const tmpKey = `${caKey}.new`;
      const tmpCa = `${out.caPath}.new`;
      await openssl([
        'req',
        '-x509',
        ...NEW_EC_KEY,
        '-keyout',
        tmpKey,
        '-out',
        tmpCa,
        '-days',
        '3650',
        '-subj',
        `/CN=kiln local CA ${hostname()}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      await chmod(tmpKey, 0o600);
      await rename(tmpKey, caKey);
      await rename(tmpCa, out.caPath);
      caPem = await readFile(out.caPath, 'utf8');
    }
    const certPem = await readFile(out.certPath, 'utf8').catch(() => '');
    const keyPem = await readFile(out.keyPath, 'utf8').catch(() => '');
    if (!keyPem || !certificateFits(certPem, caPem, names)) {
      log(sink, 'info', `creating a server certificate for ${names.join(', ')}`);
      const csr = join(dir, 'server.csr');
      const ext = join(dir, 'server.ext');
      const tmpKey = `${out.keyPath}.new`;
      const tmpCert = `${out.certPath}.new`;
      await openssl(['req', ...NEW_EC_KEY, '-keyout', tmpKey, '-out', csr, '-subj', `/CN=${names[names.length - 1]}`]);
      await writeFile(
        ext,
        `subjectAltName=${names.map(sanEntry).join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
      );
      await openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        out.caPath,
        '-CAkey',
        caKey,
        '-set_serial',
        `0x${BigInt(Date.now()).toString(16)}`,
        '-out',
        tmpCert,
        '-days',
        '397',
        '-extfile',
        ext,
      ]);
      await chmod(tmpKey, 0o600);
      await rename(tmpKey, out.keyPath);
      await rename(tmpCert, out.certPath);
      await rm(csr, { force: true });
      await rm(ext, { force: true });
    }
    await writeFile(out.wgetrcPath, `ca_certificate = ${out.caPath}\n`);
  });
  return out;
}
