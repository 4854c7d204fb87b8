import { describe, expect, it } from 'vitest';
import { loadDefinitionText } from '../../src/definition/index.js';
import { DefinitionError } from '../../src/util/errors.js';

const BASE = `image:
  distribution: alpinelinux
source:
  downloader: alpinelinux-http
  same_as: 3.20
  url: https://example.invalid/
packages:
  manager: apk
  sets:
  - packages: [a]
    action: install
    releases: [edge]
  - packages: [b]
    action: remove
actions:
- trigger: post-files
  action: "#!/bin/sh"
`;
const load = (overrides: string[]) => loadDefinitionText(BASE, 'o.yaml', { overrides }).definition;

describe('-o overrides', () => {
  it('set image fields the way lxc-ci does, before defaults fill the rest', () => {
    const d = load([
      'image.release=3.22',
      'image.architecture=arm64',
      'image.variant=cloud',
      'image.serial=20260101_00:00',
    ]);
    expect(d.image).toMatchObject({
      release: '3.22',
      architecture: 'arm64',
      variant: 'cloud',
      serial: '20260101_00:00',
      expiry: '30d',
    });
    expect(d.image.name).toBe('alpinelinux-3.22-arm64-cloud-20260101_00:00');
  });

  it('keep values with = and , whole (distrobuilder splits or rejects them)', () => {
    const d = load(['image.description=a=b, c=d', 'source.url=https://h.invalid/?a=1,b=2']);
    expect(d.image.description).toBe('a=b, c=d');
    expect(d.source.url).toBe('https://h.invalid/?a=1,b=2');
  });

  it('address list entries as sets.1 or sets[1], including filters and their elements', () => {
    const d = load([
      'packages.sets.1.action=install',
      'packages.sets[0].releases[0]=3.22',
      'actions.0.trigger=post-unpack',
    ]);
    expect(d.packages!.sets![1]!.action).toBe('install');
    expect(d.packages!.sets![0]!.releases).toEqual(['3.22']);
    expect(d.actions![0]!.trigger).toBe('post-unpack');
  });

  it('create missing maps on the way and set map entries', () => {
    const d = load([
      'targets.incus.vm.size=8589934592',
      'mappings.architectures.x86_64=x64',
      'image.architecture=x86_64',
    ]);
    expect(d.targets?.incus?.vm?.size).toBe(8589934592);
    expect(d.image.architecture_mapped).toBe('x64');
  });

  it('parse booleans like Go strconv.ParseBool', () => {
    expect(load(['packages.update=1']).packages!.update).toBe(true);
    expect(load(['packages.update=True']).packages!.update).toBe(true);
    expect(load(['packages.cleanup=f']).packages!.cleanup).toBe(false);
  });

  it('apply in order, so a later option wins', () => {
    expect(load(['image.release=1', 'image.release=2']).image.release).toBe('2');
  });

  it('report every bad option at once, after the file problems', () => {
    try {
      loadDefinitionText(BASE.replace('manager: apk', 'manager: apc'), 'o.yaml', {
        overrides: ['image.x=1', 'packages.sets.5.action=install'],
      });
      expect.unreachable();
    } catch (e) {
      const ds = (e as DefinitionError).diagnostics;
      expect(ds.map((d) => d.file)).toEqual(['o.yaml', '-o image.x=1', '-o packages.sets.5.action=install']);
    }
  });
});

describe('same_as', () => {
  it('keeps the release as written (3.20, not the number 3.2)', () => {
    expect(load([]).source.same_as).toBe('3.20');
  });

  it('is what the alpine edge build downloads, set by lxc-ci with an override', () => {
    expect(load(['image.release=edge', 'source.same_as=3.24']).source.same_as).toBe('3.24');
  });

  it('is required by alpinelinux-http for edge', () => {
    const text = BASE.replace('  same_as: 3.20\n', '');
    expect(() => loadDefinitionText(text, 'o.yaml', { overrides: ['image.release=edge'] })).toThrow(
      'set source.same_as',
    );
    expect(loadDefinitionText(text, 'o.yaml', { overrides: ['image.release=3.22'] }).definition.image.release).toBe(
      '3.22',
    );
  });
});
