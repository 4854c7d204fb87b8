import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../src/publish/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';

const kilnJs = join(process.cwd(), 'bin/kiln.js');

/** Starts `kiln serve` and resolves once it printed its instructions. */
function serve(args: string[]): Promise<{ child: ChildProcess; out: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [kilnJs, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Stop with')) resolve({ child, out: () => out });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => reject(new Error(`kiln serve exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('close');
    child.on('close', (code) => resolve(code));
    child.kill(signal);
  });
}

describe('kiln serve (command line)', () => {
  let work: string;
  let tree: string;
  const [serial] = serials(1);

  beforeAll(async () => {
    work = await tempDir('serve-cli');
    tree = join(work, 'tree');
    const b = await makeBuild(work, { serial: serial! });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('prints the CA path and the exact lxc-create line, whose WGETRC makes wget trust the server; stops with exit 0 on SIGTERM', async () => {
    const { child, out } = await serve([tree, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    try {
      const port = /catalog: +https:\/\/127\.0\.0\.1:(\d+)\//.exec(out())![1];
      const ca = join(tree, '.kiln/tls/ca.pem');
      const wgetrc = join(tree, '.kiln/wgetrc');
      expect(out()).toContain(`  CA:        ${ca}\n`);
      expect(out()).toContain(
        `  WGETRC=${wgetrc} lxc-create -n NAME -t download -- --server 127.0.0.1:${port} -d kilntest -r 1 -a amd64\n`,
      );
      expect(out()).toContain(
        `SSL_CERT_FILE=${ca} lxc remote add kiln https://127.0.0.1:${port} --protocol=simplestreams --public`,
      );
      expect(out()).toMatch(/plain: +http:\/\/127\.0\.0\.1:\d+\//);
      expect(await readFile(wgetrc, 'utf8')).toBe(`ca_certificate = ${ca}\n`);
      const index = execFileSync('wget', ['-q', '-O', '-', `https://127.0.0.1:${port}//meta/1.0/index-system`], {
        env: { ...process.env, WGETRC: wgetrc },
      }).toString();
      expect(index).toBe(await readFile(join(tree, 'meta/1.0/index-system'), 'utf8'));
    } finally {
      expect(await stop(child, 'SIGTERM')).toBe(0);
    }
    expect(out()).toContain('kiln serve: stopped');
  });

  it('makes the local CA once and reuses it; the server certificate names 127.0.0.1, localhost and the listen host; keys are private', async () => {
    const caBefore = await readFile(join(tree, '.kiln/tls/ca.pem'), 'utf8');
    const { child } = await serve([tree, '--listen', 'localhost:0']);
    expect(await stop(child, 'SIGINT')).toBe(0);
    expect(await readFile(join(tree, '.kiln/tls/ca.pem'), 'utf8')).toBe(caBefore);
    const cert = new X509Certificate(await readFile(join(tree, '.kiln/tls/server.pem')));
    expect(cert.checkIssued(new X509Certificate(caBefore))).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect((await stat(join(tree, '.kiln/tls/ca.key'))).mode & 0o077).toBe(0);
    expect((await stat(join(tree, '.kiln/tls/server.key'))).mode & 0o077).toBe(0);
  });

  it('uses a given certificate and key instead of the local CA', async () => {
    const other = await tempDir('serve-cli-cert');
    try {
      const otherTree = join(other, 'tree');
      const b = await makeBuild(other, { serial: serial! });
      await publishBuild({ tree: otherTree, stagingDir: b.staging, record: b.record });
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(other, 'k.pem'),
          '-out',
          join(other, 'c.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const { child, out } = await serve([
        otherTree,
        '--listen',
        '127.0.0.1:0',
        '--cert',
        join(other, 'c.pem'),
        '--key',
        join(other, 'k.pem'),
      ]);
      try {
        const port = /catalog: +https:\/\/127\.0\.0\.1:(\d+)\//.exec(out())![1];
        expect(out()).not.toContain('CA:');
        expect(out()).toContain(
          `  lxc-create -n NAME -t download -- --server 127.0.0.1:${port} -d kilntest -r 1 -a amd64\n`,
        );
        const got = execFileSync('wget', [
          '-q',
          '-O',
          '-',
          `--ca-certificate=${join(other, 'c.pem')}`,
          `https://127.0.0.1:${port}/meta/1.0/index-system`,
        ]).toString();
        expect(got).toContain('kilntest;1;amd64;default;');
      } finally {
        await stop(child, 'SIGTERM');
      }
      await expect(stat(join(otherTree, '.kiln/tls'))).rejects.toThrow();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('rejects a malformed --listen and a --cert without --key with one line saying what is allowed', () => {
    const bad = spawnSync('node', [kilnJs, 'serve', tree, '--listen', 'nonsense'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      "kiln: --listen 'nonsense': expected HOST:PORT, [IPV6]:PORT or PORT (port 0 picks a free one)\n",
    );
    const half = spawnSync('node', [kilnJs, 'serve', tree, '--listen', '127.0.0.1:0', '--cert', 'x.pem'], {
      encoding: 'utf8',
    });
    expect(half.status).toBe(1);
    expect(half.stderr).toMatch(/^kiln: --cert and --key go together/);
  });

  it('refuses an unknown option with exit 2, naming it on one line followed by the usage, and no stack', () => {
    const r = spawnSync('node', [kilnJs, 'serve', tree, '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    const [reason, usage, ...rest] = r.stderr.split('\n');
    expect(reason).toBe("kiln: Unknown option '--bogus'");
    expect(usage).toMatch(/^Usage: kiln serve \[DIR\] \[--listen HOST:PORT\]/);
    expect(rest).toEqual(['']);
  });
});
