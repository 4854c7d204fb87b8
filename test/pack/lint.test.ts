/**
 * Packing looks at the root it publishes: what every container made from
 * the image would share (ssh host keys, a machine-id), package caches, and
 * world-writable files and sticky-less directories are warned about;
 * device nodes, FIFOs and sockets outside /dev are reported; setuid/setgid
 * files are listed. All of it lands in build.json (`lint`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packImage } from '../../src/pack/index.js';
import { MemorySink } from '../../src/util/events.js';
import { makeBusyboxRoot, packInput } from './fixtures.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function lintOf(plant: (root: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-pack-lint-'));
  dirs.push(dir);
  const root = join(dir, 'root');
  const out = join(dir, 'out');
  mkdirSync(root);
  mkdirSync(out);
  makeBusyboxRoot(root);
  plant(root);
  const sink = new MemorySink();
  const result = await packImage(packInput(root, out, { formats: ['lxc'], sink }));
  return { lint: result.lint, sink };
}

describe('the root linter', () => {
  it('warns about shared ssh host keys, a set machine-id, package caches and world-writable paths, and lists setuid files', async () => {
    const { lint, sink } = await lintOf((root) => {
      mkdirSync(join(root, 'etc/ssh'), { recursive: true });
      writeFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key'), 'PRIVATE\n');
      writeFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'public\n');
      writeFileSync(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
      mkdirSync(join(root, 'var/cache/apt/archives'), { recursive: true });
      writeFileSync(join(root, 'var/cache/apt/archives/hello_1_amd64.deb'), Buffer.alloc(1000));
      writeFileSync(join(root, 'etc/oops'), 'anyone may write\n');
      chmodSync(join(root, 'etc/oops'), 0o666);
      mkdirSync(join(root, 'var/drop'));
      chmodSync(join(root, 'var/drop'), 0o777);
      // The fixture has /dev/null and a /dev/initctl FIFO; a node, FIFO or socket elsewhere is odd.
      execFileSync('mkfifo', [join(root, 'tmp/fifo')]);
      mkdirSync(join(root, 'srv'));
      execFileSync('mknod', [join(root, 'srv/disk'), 'b', '7', '0']);
      mkdirSync(join(root, 'run'), { recursive: true });
      execFileSync('python3', [
        '-c',
        'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
        join(root, 'run/daemon.sock'),
      ]);
    });
    expect(lint.warnings).toEqual([
      'ssh host keys /etc/ssh/ssh_host_ed25519_key: every container made from the image would share them',
      '/etc/machine-id is set (01234567...): every container made from the image would share it',
      'world-writable without the sticky bit: /etc/oops, /var/drop',
      'device nodes outside /dev: /srv/disk',
      'FIFOs outside /dev: /tmp/fifo',
      'sockets outside /dev (left out of the archives): /run/daemon.sock',
      'package cache /var/cache/apt/archives/ holds 1000 bytes',
    ]);
    expect(lint.setuid).toEqual(['/usr/bin/su-helper 4755']);
    expect(sink.events).toContainEqual(
      expect.objectContaining({
        type: 'log',
        level: 'warn',
        message: expect.stringContaining('image root: ssh host keys'),
      }),
    );
  });

  it('is quiet for a clean root: an uninitialized machine-id and a sticky /tmp are fine', async () => {
    const { lint } = await lintOf((root) => writeFileSync(join(root, 'etc/machine-id'), 'uninitialized\n'));
    expect(lint.warnings).toEqual([]);
  });
});
