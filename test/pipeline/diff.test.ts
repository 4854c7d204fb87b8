import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.js';

/**
 * `kiln diff` between two published busybox builds whose roots carry a dpkg
 * database (written by an action): what was added, removed and upgraded,
 * read from the SBOMs the pack stage wrote.
 */
let dir: string;
const product = 'images/busybox/1.35/amd64/default';

function status(pkgs: [string, string][]): string {
  return pkgs
    .map(([n, v]) => `Package: ${n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\n`)
    .join('\n');
}

function definition(name: string, pkgs: [string, string][]): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'image:',
      '  distribution: busybox',
      '  release: "1.35"',
      'source:',
      '  downloader: busybox',
      'files:',
      '- path: /var/lib/dpkg/status',
      '  generator: dump',
      '  content: |-',
      ...status(pkgs)
        .split('\n')
        .map((l) => `    ${l}`),
      'packages:',
      '  custom_manager:',
      ...['clean', 'install', 'remove', 'refresh', 'update'].map((c) => `    ${c}: {cmd: "true"}`),
      '',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-diff-'));
  const out = path.join(dir, 'out');
  const builds: [string, [string, string][]][] = [
    [
      '20260101_00:00',
      [
        ['base-files', '12.4'],
        ['libc6', '2.36-9'],
        ['oldtool', '1.0'],
      ],
    ],
    [
      '20260102_00:00',
      [
        ['base-files', '12.4'],
        ['libc6', '2.36-9+deb12u4'],
        ['newtool', '2.1'],
      ],
    ],
  ];
  for (const [serial, pkgs] of builds) {
    const r = await kiln([
      'build',
      definition(serial.slice(0, 8), pkgs),
      '--out',
      out,
      '--serial',
      serial,
      '--formats',
      'lxc',
    ]);
    expect(r.exitCode, r.all).toBe(0);
  }
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kiln diff', () => {
  it('lists packages added, removed and upgraded between two serials', async () => {
    const a = path.join(dir, 'out', product, '20260101_00:00');
    const b = path.join(dir, 'out', product, '20260102_00:00');
    const r = await kiln(['diff', a, b]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '20260101_00:00 -> 20260102_00:00',
      '+ newtool:amd64 2.1',
      '- oldtool:amd64 1.0',
      '~ libc6:amd64 2.36-9 -> 2.36-9+deb12u4',
    ]);
    const json = await kiln(['diff', a, b, '--json']);
    const result = JSON.parse(json.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ from: '20260101_00:00', to: '20260102_00:00', inputs: [] });
  });

  it('says when a directory is not a published build', async () => {
    const r = await kiln(['diff', dir, dir]);
    expect(r.exitCode).toBe(1);
    expect(r.all).toMatch(/no build.json; give two published build directories/);
    expect(r.all).not.toMatch(/\n\s+at /);
  });
});
