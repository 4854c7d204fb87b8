import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../../src/plan/types.js';
import type { ResolvedDefinition } from '../../src/definition/types.js';
import type { ImageMetadata, PackInput } from '../../src/pack/types.js';
import { nullSink } from '../../src/util/events.js';

const APPLETS = ['sh', 'ls', 'cat', 'echo', 'mount', 'ps', 'vi'];

/**
 * A small root from the host's static busybox plus one of every kind of
 * entry packing must carry: setuid file, hard-link pair, symlink, fifo, char
 * device, an xattr (a binary security.capability one too), files owned by
 * uid 1234 and by an id above the ustar limit, a long path, a non-ASCII name.
 */
export function makeBusyboxRoot(root: string): void {
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'var/lib', 'usr/bin']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  chmodSync(join(root, 'tmp'), 0o1777);
  writeFileSync(join(root, 'etc/hostname'), 'LXC_NAME\n');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nkiln:x:1234:1234::/tmp:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nkiln:x:1234:\n');
  writeFileSync(join(root, 'usr/bin/su-helper'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(root, 'usr/bin/su-helper'), 0o4755);
  writeFileSync(join(root, 'usr/bin/first'), 'same inode\n');
  linkSync(join(root, 'usr/bin/first'), join(root, 'usr/bin/second'));
  writeFileSync(join(root, 'tmp/owned'), 'uid 1234\n');
  chownSync(join(root, 'tmp/owned'), 1234, 1234);
  // Above ustar's 7 octal digits: needs PAX uid/gid records.
  writeFileSync(join(root, 'tmp/high-id'), 'mapped range\n');
  chownSync(join(root, 'tmp/high-id'), 3000000, 3000001);
  execFileSync('mkfifo', [join(root, 'dev/initctl')]);
  execFileSync('mknod', ['-m', '0666', join(root, 'dev/null'), 'c', '1', '3']);
  writeFileSync(join(root, 'etc/labelled'), 'has xattrs\n');
  execFileSync('setfattr', ['-n', 'user.kiln', '-v', 'hello', join(root, 'etc/labelled')]);
  // cap_net_raw+ep: a binary value, as ping carries it.
  execFileSync('setfattr', [
    '-n',
    'security.capability',
    '-v',
    '0x0100000200200000000000000000000000000000',
    join(root, 'usr/bin/su-helper'),
  ]);
  const deep = join(root, 'usr/share', 'a-rather-long-directory-name-'.repeat(3), 'nested-again-'.repeat(4));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-with-a-long-name-that-needs-pax-'.repeat(3)), 'long\n');
  writeFileSync(join(root, 'etc/motd-ünïcode'), 'hi\n');
  // A large file goes through the chunked path, not the read-ahead one.
  const big = Buffer.alloc(5 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  writeFileSync(join(root, 'var/lib/big.bin'), big);
  utimesSync(join(root, 'etc/hostname'), 1000, 1000);
}

export function busyboxDefinition(): ResolvedDefinition {
  return {
    image: {
      distribution: 'busybox',
      release: '1.36',
      architecture: 'x86_64',
      architecture_mapped: 'amd64',
      architecture_kernel: 'x86_64',
      architecture_personality: 'x86_64',
      variant: 'default',
      serial: '20240101_0000',
      expiry: '30d',
      name: 'busybox-1.36-x86_64-default-20240101_0000',
      description: 'Busybox 1.36 x86_64 (20240101_0000)',
    },
    source: { downloader: 'busybox' },
  };
}

export function busyboxPlan(): Plan {
  const definition = busyboxDefinition();
  return {
    definitionFile: 'busybox.yaml',
    definitionDigest: 'sha256:00',
    definition,
    targets: ['lxc', 'incus'],
    environment: {},
    source: {
      kind: 'source',
      name: 'source',
      downloader: 'busybox',
      source: definition.source,
      early: { install: [], remove: [] },
    },
    steps: [],
    lxc: {
      createMessage: 'You just created a busybox container.',
      configFiles: {
        config: 'lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = x86_64\n',
        'config-user':
          'lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = x86_64\n',
        'config.4': 'lxc.include = LXC_TEMPLATE_CONFIG/busybox.common.conf\n',
      },
    },
  };
}

export function busyboxMetadata(): ImageMetadata {
  return {
    lxcTemplates: ['/etc/hostname'],
    incusTemplates: {
      '/etc/hostname': { template: 'hostname.tpl', when: ['create', 'copy'], properties: { default: 'busybox' } },
    },
    incusTemplateFiles: { 'hostname.tpl': '{{ instance.name }}\n' },
  };
}

export const SDE = 1700000000;

export function packInput(rootfs: string, outDir: string, over: Partial<PackInput> = {}): PackInput {
  return {
    rootfs,
    plan: busyboxPlan(),
    metadata: busyboxMetadata(),
    outDir,
    formats: ['lxc', 'incus', 'unified'],
    compression: { method: 'xz' },
    squashfsCompression: 'xz',
    sourceDateEpoch: SDE,
    creationDate: SDE,
    expiryDate: SDE + 30 * 86400,
    sink: nullSink,
    ...over,
  };
}
