/** The OCI platform (GOARCH and variant) for a definition's image.architecture. */
const TABLE: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  amd64: { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  arm64: { architecture: 'arm64' },
  armv7l: { architecture: 'arm', variant: 'v7' },
  armv7: { architecture: 'arm', variant: 'v7' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armv6l: { architecture: 'arm', variant: 'v6' },
  armel: { architecture: 'arm', variant: 'v6' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  x86: { architecture: '386' },
  ppc64le: { architecture: 'ppc64le' },
  ppc64el: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
  loongarch64: { architecture: 'loong64' },
  mips64el: { architecture: 'mips64le' },
};

export function ociPlatform(architecture: string): { architecture: string; variant?: string } {
  return TABLE[architecture] ?? { architecture };
}
