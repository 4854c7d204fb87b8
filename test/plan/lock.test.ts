import { describe, expect, it } from 'vitest';
import { loadDefinitionText } from '../../src/definition/index.js';
import { makePlan } from '../../src/plan/index.js';
import { aptPreferences } from '../../src/plan/lock-pins.js';
import { parseLock, type BuildLock } from '../../src/plan/lock.js';
import { lockDifferences } from '../../src/pipeline/lock-check.js';

const DEBIAN = `image:
  distribution: debian
  release: bookworm
  architecture: x86_64
source:
  downloader: debootstrap
  url: http://deb.invalid/debian
mappings:
  architecture_map: debian
packages:
  manager: apt
  update: true
  sets:
  - packages: [sudo, procps, not-in-the-lock, curl=7.88.1-10, libc6:i386]
    action: install
  - packages: [procps]
    action: remove
`;

const LOCK: BuildLock = {
  lockVersion: 1,
  kiln: '0.1.0',
  product: { distribution: 'debian', release: 'bookworm', arch: 'amd64', variant: 'default' },
  plan: 'p',
  inputs: [],
  repositories: [],
  databases: ['dpkg'],
  packages: [
    { name: 'sudo', version: '1.9.13p3-1+deb12u1', arch: 'amd64' },
    { name: 'procps', version: '2:4.0.2-3', arch: 'amd64' },
    { name: 'curl', version: '7.88.1-10+deb12u8', arch: 'amd64' },
    { name: 'libc6', version: '2.36-9', arch: 'i386' },
    { name: 'tzdata', version: '2025a-0+deb12u1', arch: 'all' },
  ],
};

function plan(body: string, lock?: BuildLock) {
  const loaded = loadDefinitionText(body, 'd.yaml', { overrides: [] });
  return makePlan(loaded, { targets: ['lxc'], ...(lock ? { lock: { file: 'x.lock.json', lock } } : {}) });
}
const argvs = (p: ReturnType<typeof plan>): string[] =>
  p.steps.flatMap((s) => (s.kind === 'packages' ? [s.argv.join(' ')] : []));

describe('a build with --lock', () => {
  it('installs every locked package at its locked version, and leaves alone what the lock does not name or the definition pins', () => {
    const p = plan(DEBIAN, LOCK);
    expect(argvs(p)).toContain(
      'apt-get -y install sudo=1.9.13p3-1+deb12u1 procps=2:4.0.2-3 not-in-the-lock curl=7.88.1-10 libc6:i386=2.36-9',
    );
    // Removal takes no version.
    expect(argvs(p)).toContain('apt-get -y remove --auto-remove procps');
  });

  it('pins apt for the whole build, dependencies and the upgrade included, and unpins before packing', () => {
    const names = plan(DEBIAN, LOCK).steps.map((s) => s.name);
    expect(names.indexOf('apt-lock:pin')).toBeLessThan(names.indexOf('packages.refresh'));
    expect(names.indexOf('apt-lock:unpin')).toBeGreaterThan(names.indexOf('packages.remove[0]'));
    expect(names.indexOf('apt-lock:unpin')).toBeLessThan(names.indexOf('policy-rc.d:remove'));
    const prefs = aptPreferences({ file: 'x.lock.json', packages: LOCK.packages, inputs: [] }, 'amd64');
    expect(prefs).toContain('Package: sudo\nPin: version 1.9.13p3-1+deb12u1\nPin-Priority: 1001\n');
    expect(prefs).toContain('Package: libc6:i386\nPin: version 2.36-9\n');
    expect(prefs).toContain('Package: tzdata\nPin: version 2025a-0+deb12u1\n');
  });

  it('without a lock the plan has no pins', () => {
    const p = plan(DEBIAN);
    expect(argvs(p)).toContain('apt-get -y install sudo procps not-in-the-lock curl=7.88.1-10 libc6:i386');
    expect(p.steps.map((s) => s.name)).not.toContain('apt-lock:pin');
    expect(p.lock).toBeUndefined();
  });

  it('is refused before anything runs when it belongs to another product', () => {
    const trixie = { ...LOCK, product: { ...LOCK.product, release: 'trixie' } };
    expect(() => plan(DEBIAN, trixie)).toThrow(
      '--lock x.lock.json: the lock is for debian/trixie/amd64/default, this build is debian/bookworm/amd64/default',
    );
  });

  it('says a manager kiln cannot pin is not supported, naming it', () => {
    const apk = DEBIAN.replace('manager: apt', 'manager: apk');
    expect(() => plan(apk, LOCK)).toThrow('pinning package versions is not supported for apk');
  });

  it('names the file and the field of a malformed lock', () => {
    expect(() => parseLock('{', 'l.json')).toThrow(/^l\.json: not JSON/);
    expect(() => parseLock(JSON.stringify({ ...LOCK, lockVersion: 9 }), 'l.json')).toThrow(
      'l.json: lockVersion 9 is not known; this kiln reads 1',
    );
    const bad = { ...LOCK, packages: [{ name: 'sudo' }] };
    expect(() => parseLock(JSON.stringify(bad), 'l.json')).toThrow(
      'l.json: packages[0]: "version" must be a non-empty string',
    );
    const twice = { ...LOCK, packages: [LOCK.packages[0], LOCK.packages[0]] };
    expect(() => parseLock(JSON.stringify(twice), 'l.json')).toThrow('package sudo:amd64 is listed twice');
  });
});

describe('checking a root against its lock', () => {
  const installed = [
    { name: 'sudo', version: '1.9.13p3-1+deb12u1', arch: 'amd64' },
    { name: 'procps', version: '2:4.0.2-4', arch: 'amd64' },
    { name: 'extra', version: '1', arch: 'amd64' },
  ];
  it('after the source stage only counts versions of packages both have', () => {
    expect(lockDifferences(installed, LOCK.packages, false)).toEqual({
      changed: ['procps:amd64 2:4.0.2-3 (got 2:4.0.2-4)'],
      missing: [],
      extra: [],
    });
  });
  it('after customization wants exactly the locked set', () => {
    const d = lockDifferences(installed, LOCK.packages, true);
    expect(d.extra).toEqual(['extra:amd64 1']);
    expect(d.missing).toEqual(['curl:amd64 7.88.1-10+deb12u8', 'libc6:i386 2.36-9', 'tzdata:all 2025a-0+deb12u1']);
  });
});
