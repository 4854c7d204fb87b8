import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packImage } from '../../src/pack/index.js';
import type { PackResult } from '../../src/pack/types.js';
import { MemorySink } from '../../src/util/events.js';
import { makeBusyboxRoot, packInput, SDE } from './fixtures.js';

function tarList(file: string, verbose = false): string[] {
  return execFileSync('tar', [verbose ? '-tvf' : '-tf', file, '--numeric-owner'], { encoding: 'utf8' })
    .trim()
    .split('\n');
}

describe('LXC output', () => {
  let dir: string;
  let root: string;
  let out: string;
  let result: PackResult;
  let sink: MemorySink;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pack-lxc-'));
    root = join(dir, 'root');
    out = join(dir, 'out');
    execFileSync('mkdir', [root, out]);
    makeBusyboxRoot(root);
    sink = new MemorySink();
    result = await packImage(packInput(root, out, { formats: ['lxc'], sink }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes rootfs.tar.xz with ./ entries, numeric owners and no host user names', () => {
    const names = tarList(join(out, 'rootfs.tar.xz'));
    expect(names[0]).toBe('./');
    expect(names.every((n) => n.startsWith('./'))).toBe(true);
    expect(names).toContain('./bin/busybox');
    const verbose = execFileSync('tar', ['-tvf', join(out, 'rootfs.tar.xz')], { encoding: 'utf8' });
    // Without --numeric-owner GNU tar shows names when the archive has them.
    expect(verbose).toMatch(/ 1234\/1234 .* \.\/tmp\/owned/);
    expect(verbose).not.toMatch(/ root\/root /);
    execFileSync('xz', ['-t', join(out, 'rootfs.tar.xz')]);
    expect(sink.events.filter((e) => e.type === 'log' && e.level === 'warn')).toEqual([]);
  });

  it('writes meta.tar.xz with exactly the files lxc-download reads, names without ./', () => {
    const names = tarList(join(out, 'meta.tar.xz'));
    expect(names).toEqual([
      'create-message',
      'expiry',
      'excludes-user',
      'config',
      'config-user',
      'config.4',
      'templates',
    ]);
    const get = (m: string) => execFileSync('tar', ['-xOJf', join(out, 'meta.tar.xz'), m], { encoding: 'utf8' });
    expect(get('create-message')).toBe('You just created a busybox container.\n');
    expect(get('expiry')).toBe(`${SDE + 30 * 86400}\n`);
    expect(get('excludes-user')).toBe('./dev/null\n');
    expect(get('templates')).toBe('/etc/hostname\n');
    expect(get('config')).toContain('lxc.include = LXC_TEMPLATE_CONFIG/common.conf');
    expect(get('config-user')).toContain('userns.conf');
    expect(result.userConfig).toBe(true);
  });

  it("installs with LXC's own client (lxc-create -t local), which templates /etc/hostname and appends the config", () => {
    const lxcpath = join(dir, 'lxc');
    const name = `kiln-pack-${process.pid}`;
    execFileSync('mkdir', [lxcpath]);
    try {
      const created = execFileSync(
        'lxc-create',
        [
          '-P',
          lxcpath,
          '-n',
          name,
          '-t',
          'local',
          '--',
          '--metadata',
          join(out, 'meta.tar.xz'),
          '--fstree',
          join(out, 'rootfs.tar.xz'),
        ],
        { encoding: 'utf8', stdio: 'pipe' },
      );
      expect(created).toContain('You just created a busybox container.');
      expect(readFileSync(join(lxcpath, name, 'rootfs/etc/hostname'), 'utf8')).toBe(`${name}\n`);
      const config = readFileSync(join(lxcpath, name, 'config'), 'utf8');
      expect(config).toContain(
        '# Distribution configuration\nlxc.include = /usr/share/lxc/config/common.conf\nlxc.arch = x86_64\n',
      );
      expect(config).toContain(`lxc.uts.name = ${name}`);
      expect(
        execFileSync('stat', ['-c', '%a %u', join(lxcpath, name, 'rootfs/usr/bin/su-helper')], { encoding: 'utf8' }),
      ).toBe('4755 0\n');
    } finally {
      execFileSync('lxc-destroy', ['-P', lxcpath, '-n', name], { stdio: 'pipe' });
    }
  });

  it('writes another tarball compression when asked, warns that LXC only unpacks xz, and keeps meta.tar.xz in xz', async () => {
    const zout = join(dir, 'out-zstd');
    execFileSync('mkdir', [zout]);
    const zsink = new MemorySink();
    const r = await packImage(
      packInput(root, zout, { formats: ['lxc'], compression: { method: 'zstd', level: 19 }, sink: zsink }),
    );
    expect(r.artifacts.map((a) => a.name)).toEqual([
      'SHA256SUMS',
      'image.yaml',
      'meta.tar.xz',
      'rootfs.tar.zst',
      'sbom.spdx.json',
    ]);
    expect(zsink.events).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringMatching(/only unpack xz/) }),
    );
    expect(execFileSync('zstd', ['-l', join(zout, 'rootfs.tar.zst')], { encoding: 'utf8' })).toContain(
      'rootfs.tar.zst',
    );
    expect(tarList(join(zout, 'rootfs.tar.zst'))).toEqual(tarList(join(out, 'rootfs.tar.xz')));
    expect(execFileSync('xz', ['-l', join(zout, 'meta.tar.xz')], { encoding: 'utf8' })).toContain('meta.tar.xz');
  });

  it('lists every artifact in SHA256SUMS and sha256sum -c passes', () => {
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    for (const a of result.artifacts.filter((x) => x.name !== 'SHA256SUMS')) {
      expect(sums).toContain(`${a.sha256}  ${a.name}\n`);
    }
    execFileSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: out, stdio: 'pipe' });
  });
});
