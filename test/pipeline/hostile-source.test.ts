import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureServer, type FixtureServer } from '../fixtures/http-server.js';
import { KILN_BIN, ROOT } from '../helpers/kiln.js';
import { tarBomb } from '../source/archives.js';
import { peakRss } from '../helpers/peak-rss.js';

/**
 * A source archive is untrusted input too: a 10 MB gzip that expands to
 * 10 GiB of zeros ends `kiln build` with one line naming the entry and the
 * key that raises the bound, in bounded memory, with nothing written to the
 * work dir, the temp dir or the tree (issue 24).
 */
const PEAK_LIMIT_KB = 300 * 1024;
const GiB = 1024 ** 3;

let dir: string;
let server: FixtureServer;
let bomb: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-hostile-source-'));
  bomb = await tarBomb('gzip', 10 * GiB, 40);
  server = await startFixtureServer();
  server.set('/bomb/rootfs.tar.gz', bomb);
}, 120_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function definition(name: string, unpack: string[]): string {
  const file = path.join(dir, `${name}.yaml`);
  const sha = createHash('sha256').update(bomb).digest('hex');
  writeFileSync(
    file,
    [
      'image:',
      '  distribution: bomb',
      '  release: "1"',
      'source:',
      '  downloader: rootfs-http',
      `  url: ${server.url('/bomb/rootfs.tar.gz')}`,
      `  checksum: sha256:${sha}`,
      ...unpack,
      'packages:',
      '  custom_manager:',
      ...['clean', 'install', 'remove', 'refresh', 'update'].map((c) => `    ${c}: {cmd: "true"}`),
      '',
    ].join('\n'),
  );
  return file;
}

/** `kiln build` under python's getrusage (the child's peak RSS), with its own TMPDIR, work dir and cache. */
async function build(file: string, name: string) {
  const base = path.join(dir, name);
  const dirs = { tmp: path.join(base, 'tmp'), work: path.join(base, 'work'), out: path.join(base, 'out') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const args = [KILN_BIN, 'build', file, '--out', dirs.out, '--work-dir', dirs.work];
  args.push('--cache-dir', path.join(base, 'cache'), '--formats', 'lxc');
  const r = await peakRss([process.execPath, ...args], { cwd: ROOT, env: { ...process.env, TMPDIR: dirs.tmp } });
  return { ...r, ...dirs };
}

function expectRefusedCleanly(r: Awaited<ReturnType<typeof build>>, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const text = r.stderr.join('\n');
  expect(text).not.toMatch(/\n\s+at |FATAL|heap out of memory/);
  expect(r.stderr.filter((l) => pattern.test(l))).toHaveLength(1);
  expect(r.peakKb).toBeGreaterThan(0);
  expect(r.peakKb).toBeLessThan(PEAK_LIMIT_KB);
  expect(readdirSync(r.work)).toEqual([]);
  expect(readdirSync(r.tmp)).toEqual([]);
  expect(existsSync(path.join(r.out, 'images'))).toBe(false);
}

describe('kiln build of a compression bomb', () => {
  it('is a 10 MB gzip that expands to 10 GiB', () => {
    expect(bomb.length).toBeGreaterThan(9_000_000);
    expect(bomb.length).toBeLessThan(12_000_000);
  });

  it('stops at the default expansion ratio: one line, bounded memory, nothing left', async () => {
    const r = await build(definition('default', []), 'default');
    expectRefusedCleanly(
      r,
      /archive expands to more than 200 times the archive's size at entry "zeros".*source.unpack.max_ratio raises the limit/,
    );
  }, 120_000);

  it('stops at max_size once the definition raises the ratio', async () => {
    const r = await build(definition('raised', ['  unpack:', '    max_ratio: 100000', '    max_size: 2G']), 'raised');
    expectRefusedCleanly(
      r,
      /more than the 2147483648-byte limit at entry "zeros".*source.unpack.max_size raises the limit/,
    );
  }, 120_000);
});
