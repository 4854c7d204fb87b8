/**
 * `kiln plan --catalog --matrix` is made to travel: a CI engine takes its
 * rows to other machines and runs each row's command there. So its paths are
 * relative to the catalog file, the command runs as printed from the
 * catalog's directory, and its "would skip" digests the same output choices
 * the cell's build will use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln, KILN_BIN, ROOT } from '../helpers/kiln.js';

interface Row {
  id: string;
  definition: string;
  wouldSkip: boolean | null;
  changes: string[];
  command: string;
}

describe('kiln plan --catalog --matrix', () => {
  let tmp: string;
  let site: string;
  let shim: string;
  const plan = async (cwd: string, catalog: string, extra: string[] = []): Promise<Row[]> => {
    const r = await kiln(
      ['plan', '--catalog', catalog, '--matrix', '--json', '--out', path.join(site, 'out'), ...extra],
      {
        cwd,
      },
    );
    expect(r.exitCode, r.all).toBe(0);
    return JSON.parse(r.stdout) as Row[];
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-matrix-'));
    site = path.join(tmp, 'site');
    await mkdir(path.join(site, 'defs'), { recursive: true });
    const busybox = await readFile(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8');
    await writeFile(path.join(site, 'defs/tiny.yaml'), busybox.replace('distribution: busybox', 'distribution: tiny'));
    await writeFile(path.join(site, 'kiln.yaml'), 'images:\n- definition: defs/tiny.yaml\n  formats: [incus]\n');
    // `kiln` on PATH, as a user who installed it has it.
    shim = path.join(tmp, 'bin');
    await mkdir(shim);
    await writeFile(path.join(shim, 'kiln'), `#!/bin/sh\nexec node ${KILN_BIN} "$@"\n`);
    await chmod(path.join(shim, 'kiln'), 0o755);
    const built = await kiln(
      [
        'build',
        '--catalog',
        'kiln.yaml',
        '--out',
        'out',
        '--serial',
        '20260301_00:00',
        '--compression',
        'zstd:3',
        '--squashfs-compression',
        'gzip',
      ],
      { cwd: site },
    );
    expect(built.exitCode, built.all).toBe(0);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('writes definition paths relative to the catalog, the same from any directory', async () => {
    const here = await plan(site, 'kiln.yaml', ['--compression', 'zstd:3', '--squashfs-compression', 'gzip']);
    const elsewhere = await plan('/', path.join(site, 'kiln.yaml'), [
      '--compression',
      'zstd:3',
      '--squashfs-compression',
      'gzip',
    ]);
    expect(here).toEqual(elsewhere);
    expect(here.map((r) => r.definition)).toEqual(['defs/tiny.yaml']);
    expect(here[0]?.command).toBe(
      'kiln build --catalog kiln.yaml --only tiny:1.35:amd64:default --out out --compression zstd:3 --squashfs-compression gzip',
    );
  });

  it('predicts "unchanged" for a catalog run with non-default compression, and a build when the choice differs', async () => {
    const same = await plan(site, 'kiln.yaml', ['--compression', 'zstd:3', '--squashfs-compression', 'gzip']);
    expect(same.map((r) => [r.id, r.wouldSkip])).toEqual([['tiny:1.35:amd64:default', true]]);
    const other = await plan(site, 'kiln.yaml');
    expect(other[0]?.wouldSkip).toBe(false);
    expect(other[0]?.changes.join('; ')).toMatch(/output/);
  });

  it("runs each cell's command as printed from the catalog's directory, and the build agrees with the prediction", async () => {
    const [row] = await plan('/', path.join(site, 'kiln.yaml'), [
      '--compression',
      'zstd:3',
      '--squashfs-compression',
      'gzip',
    ]);
    const r = await execa('sh', ['-c', `${row!.command} --json`], {
      cwd: site,
      env: { ...process.env, PATH: `${shim}:${process.env.PATH ?? ''}` },
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    const latest = JSON.parse(await readFile(path.join(site, 'out/reports/latest.json'), 'utf8')) as { run: string };
    const report = JSON.parse(await readFile(path.join(site, 'out/reports', latest.run, 'report.json'), 'utf8')) as {
      builds: Array<{ id: string; status: string }>;
    };
    expect(report.builds.map((b) => [b.id, b.status])).toEqual([['tiny:1.35:amd64:default', 'unchanged']]);
  });
});
