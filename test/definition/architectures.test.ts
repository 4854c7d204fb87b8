import { describe, expect, it } from 'vitest';
import { loadDefinitionText, mapArchitecture, productArch } from '../../src/definition/index.js';

function resolved(arch: string, mappings = '') {
  const text = `image:\n  distribution: x\n  architecture: ${arch}\nsource:\n  downloader: rootfs-http\n  url: file:///x.tar\n${mappings}`;
  return loadDefinitionText(text, 'a.yaml').definition.image;
}

describe('architecture mapping (definitions-spec 1.8)', () => {
  const presets: Array<[string, string, string]> = [
    ['debian', 'x86_64', 'amd64'],
    ['debian', 'amd64', 'amd64'],
    ['debian', 'i686', 'i386'],
    ['debian', 'armv7l', 'armhf'],
    ['debian', 'aarch64', 'arm64'],
    ['debian', 'ppc64le', 'ppc64el'],
    ['debian', 'ppc', 'powerpc'],
    ['debian', 'riscv64', 'riscv64'],
    ['alpinelinux', 'i686', 'x86'],
    ['alpinelinux', 'armhf', 'armv7'],
    ['alpinelinux', 'arm64', 'arm64'],
    ['archlinux', 'arm64', 'aarch64'],
    ['archlinux', 'armv7l', 'armv7'],
    ['centos', 'i386', 'i386'],
    ['gentoo', 'amd64', 'amd64'],
    ['gentoo', 'armhf', 'armv7a_hardfp'],
    ['openwrt', 'amd64', 'x86-64'],
    ['openwrt', 'arm64', 'armsr-armv8'],
    ['plamolinux', 'x86_64', 'x86_64'],
    ['voidlinux', 'armhf', 'armv7l'],
    ['funtoo', 'amd64', 'generic_64'],
    ['altlinux', 'i686', 'i586'],
    ['slackware', 'i386', 'i586'],
  ];
  for (const [map, arch, expected] of presets) {
    it(`${map} maps ${arch} to ${expected}`, () => {
      expect(mapArchitecture(arch, map, undefined)).toBe(expected);
    });
  }

  it('always returns armel as armel with a preset', () => {
    expect(mapArchitecture('armel', 'debian', undefined)).toBe('armel');
  });

  it('looks a custom map up by the name as typed, without alias normalisation', () => {
    expect(mapArchitecture('x86_64', undefined, { x86_64: 'x64' })).toBe('x64');
    expect(mapArchitecture('amd64', undefined, { x86_64: 'x64' })).toBe('amd64');
  });

  it('prefers the preset when both a preset and a custom map are set', () => {
    expect(mapArchitecture('x86_64', 'debian', { x86_64: 'x64' })).toBe('amd64');
  });

  it('computes kernel name and personality through the alias table', () => {
    expect(resolved('amd64')).toMatchObject({
      architecture: 'amd64',
      architecture_mapped: 'amd64',
      architecture_kernel: 'x86_64',
      architecture_personality: 'linux64',
    });
    expect(resolved('armhf', 'mappings:\n  architecture_map: alpinelinux\n')).toMatchObject({
      architecture_mapped: 'armv7',
      architecture_kernel: 'armv7l',
      architecture_personality: 'linux32',
    });
    expect(resolved('x86_64', 'mappings:\n  architectures:\n    x86_64: x64\n')).toMatchObject({
      architecture_mapped: 'x64',
      architecture_kernel: 'x86_64',
    });
  });

  it('overwrites computed fields written in the file, as distrobuilder does', () => {
    const img = resolved('arm64', '').architecture_mapped;
    expect(img).toBe('arm64');
    const text =
      'image:\n  distribution: x\n  architecture: arm64\n  architecture_kernel: bogus\nsource:\n  downloader: busybox\n';
    expect(loadDefinitionText(text, 'a.yaml').definition.image.architecture_kernel).toBe('aarch64');
  });
});

describe('productArch', () => {
  const cases: Array<[string, string]> = [
    ['x86_64', 'amd64'],
    ['amd64', 'amd64'],
    ['aarch64', 'arm64'],
    ['arm64', 'arm64'],
    ['armv7l', 'armhf'],
    ['armhf', 'armhf'],
    ['armel', 'armel'],
    ['i686', 'i386'],
    ['ppc64le', 'ppc64el'],
    ['s390x', 's390x'],
    ['riscv64', 'riscv64'],
    ['loongarch64', 'loong64'],
  ];
  for (const [typed, product] of cases) {
    it(`names ${typed} ${product} in image indexes`, () => {
      expect(productArch({ image: { distribution: 'x', architecture: typed } })).toBe(product);
    });
  }
});
