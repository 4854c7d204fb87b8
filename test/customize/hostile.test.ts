import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { customize } from '../../src/customize/index.js';
import { MemorySink } from '../../src/util/events.js';
import { mountPoints } from '../helpers/host-state.js';
import { busyboxRoot, outputOf, planFor } from './fixtures.js';

/**
 * A hostile image: its /etc/hostname and the targets of dump and remove
 * are symlinks to host files (absolute, and relative with enough ../ to
 * climb out of any root), and an action tries to reach the host through
 * /proc/1/root, .., chroot and mounts. The host's canary files stay as they
 * were and no mount is left behind.
 */
describe('a hostile image cannot touch the host', () => {
  let tmp: string;
  let canary: string;
  const secret = 'host secret 8d41f0';

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-hostile-'));
    canary = path.join(tmp, 'canary');
    await mkdir(canary);
    for (const f of ['hostname', 'dumped', 'victim', 'inner', 'escape'])
      await writeFile(path.join(canary, f), `${secret} ${f}\n`);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('generators write and delete inside the image, and an escaping action finds no way out', async () => {
    const root = busyboxRoot(path.join(tmp, 'rootfs'));
    const up = '../'.repeat(12);
    await symlink(path.join(canary, 'hostname'), path.join(root, 'etc/hostname'));
    await symlink(`${up}${canary.slice(1)}`, path.join(root, 'etc/out'));
    await symlink(path.join(canary, 'victim'), path.join(root, 'etc/victim'));
    await symlink(`${up}${canary.slice(1)}`, path.join(root, 'etc/dir'));
    // The image's own copy of the hostname, where the absolute link leads inside the root.
    await mkdir(path.join(root, canary), { recursive: true });
    await writeFile(path.join(root, canary, 'hostname'), 'image\n');

    const escape = [
      '#!/bin/sh',
      `C=${canary}`,
      'try() { sh -c "$1" >/dev/null 2>&1 && echo "ran: $1"; }',
      // Through the root of pid 1 and of every visible process.
      'for p in /proc/*/root; do try "echo pwned > $p$C/escape"; cat "$p$C/escape" 2>/dev/null; done',
      // Up the tree.
      'cd / && cd ../../../../.. && try "echo pwned > .$C/escape"; cat ".$C/escape" 2>/dev/null',
      // The classic chroot escape.
      'mkdir -p /tmp/jail && try "chroot /tmp/jail /bin/sh -c true"',
      'try "chroot / sh -c \'cd ../../..; echo pwned > $C/escape\'"',
      // A fresh proc and a bind of / give the container's own view only.
      'mkdir -p /mnt/p /mnt/r',
      'try "mount -t proc proc /mnt/p" && { try "echo pwned > /mnt/p/1/root$C/escape"; cat "/mnt/p/1/root$C/escape" 2>/dev/null; }',
      'try "mount --bind / /mnt/r" && { try "echo pwned > /mnt/r$C/escape"; }',
      'try "mount -o remount,rw /sys" && try "echo pwned > /sys/kernel/uevent_helper"',
      'echo "attempts done"',
      '',
    ].join('\n');
    const indent = (s: string) =>
      s
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n');
    const yaml = `
image:
  distribution: hostile
  release: "1"
source:
  downloader: busybox
files:
- {path: /etc/hostname, generator: hostname}
- {path: /etc/out/dumped, generator: dump, content: pwned}
- {path: /etc/victim, generator: remove}
- {path: /etc/dir/inner, generator: remove}
actions:
- trigger: post-unpack
  action: |-
${indent(escape)}
packages:
  custom_manager:
    clean: {cmd: "true"}
    install: {cmd: "true"}
    remove: {cmd: "true"}
    refresh: {cmd: "true"}
    update: {cmd: "true"}
`;
    const before = mountPoints();
    const sink = new MemorySink();
    await customize({ plan: planFor(yaml, path.join(tmp, 'hostile.yaml')), rootfs: root, sink });

    for (const f of ['hostname', 'dumped', 'victim', 'inner', 'escape']) {
      expect(await readFile(path.join(canary, f), 'utf8'), f).toBe(`${secret} ${f}\n`);
    }
    expect((await readdir(canary)).sort()).toEqual(['dumped', 'escape', 'hostname', 'inner', 'victim']);
    // What the generators did landed inside the image.
    expect(await readFile(path.join(root, canary, 'hostname'), 'utf8')).toBe('LXC_NAME\n');
    expect(await readFile(path.join(root, canary, 'dumped'), 'utf8')).toBe('pwned\n');
    await expect(readlink(path.join(root, 'etc/victim'))).rejects.toThrow();
    expect(await readlink(path.join(root, 'etc/dir'))).toBe(`${up}${canary.slice(1)}`);
    // The action never saw the host's files, and its mounts died with it.
    const out = outputOf(sink, 'post-unpack[0]').join('\n');
    expect(out).toContain('attempts done');
    expect(out).not.toContain(secret);
    expect(mountPoints()).toEqual(before);
  });
});
