import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generators } from '../../src/customize/generators/index.js';
import { emptyMetadata } from '../../src/customize/metadata.js';
import { resolveInRoot } from '../../src/customize/safe-path.js';
import type { FileEntry } from '../../src/definition/types.js';
import type { Plan } from '../../src/plan/types.js';
import { nullSink } from '../../src/util/events.js';

/**
 * A hostile image plants symlinks that point at host files, absolute and
 * relative. Generators must write and delete inside the image only.
 */
describe('generators stay inside the image root', () => {
  let tmp: string;
  let root: string;
  let canary: string;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-gen-'));
    root = path.join(tmp, 'rootfs');
    canary = path.join(tmp, 'canary');
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await mkdir(canary);
    await writeFile(path.join(canary, 'hostname'), 'host file\n');
    await writeFile(path.join(canary, 'victim'), 'do not delete\n');
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function run(
    entry: FileEntry,
    plan: Plan = { targets: ['lxc'], definitionFile: path.join(tmp, 'def.yaml') } as Plan,
  ) {
    const gen = generators[entry.generator];
    if (!gen) throw new Error(`no generator ${entry.generator}`);
    const metadata = emptyMetadata();
    await gen.run({ rootfs: root, entry, step: 'files[0]', plan, metadata, sink: nullSink });
    return metadata;
  }

  it('resolves absolute symlinks against the root, and .. stops at the root', async () => {
    await symlink(path.join(canary, 'hostname'), path.join(root, 'etc/abs'));
    await symlink('../../../../../../../..' + canary + '/hostname', path.join(root, 'etc/rel'));
    expect(await resolveInRoot(root, '/etc/abs')).toBe(path.join(root, canary, 'hostname'));
    expect(await resolveInRoot(root, '/etc/rel')).toBe(path.join(root, canary, 'hostname'));
    expect(await resolveInRoot(root, '/../../etc/x')).toBe(path.join(root, 'etc/x'));
  });

  it('hostname through an absolute symlink to a host file writes inside the image', async () => {
    await symlink(path.join(canary, 'hostname'), path.join(root, 'etc/hostname'));
    await mkdir(path.join(root, canary), { recursive: true });
    await writeFile(path.join(root, canary, 'hostname'), 'image\n');
    const meta = await run({ generator: 'hostname', path: '/etc/hostname' });
    expect(await readFile(path.join(canary, 'hostname'), 'utf8')).toBe('host file\n');
    expect(await readFile(path.join(root, canary, 'hostname'), 'utf8')).toBe('LXC_NAME\n');
    expect(meta.lxcTemplates).toEqual(['/etc/hostname']);
  });

  it('dump through a ../../.. symlinked directory writes inside the image', async () => {
    await symlink('../../../../../../..' + canary, path.join(root, 'etc/out'));
    await run({ generator: 'dump', path: '/etc/out/hostname', content: 'pwned' });
    expect(await readFile(path.join(canary, 'hostname'), 'utf8')).toBe('host file\n');
    expect(await readFile(path.join(root, canary, 'hostname'), 'utf8')).toBe('pwned\n');
  });

  it('remove of a symlink deletes the link, not its host target', async () => {
    await symlink(path.join(canary, 'victim'), path.join(root, 'etc/victim'));
    await run({ generator: 'remove', path: '/etc/victim' });
    expect(await readFile(path.join(canary, 'victim'), 'utf8')).toBe('do not delete\n');
    await expect(lstat(path.join(root, 'etc/victim'))).rejects.toThrow();
  });

  it('remove through a symlinked parent deletes inside the image only', async () => {
    await symlink(canary, path.join(root, 'etc/dir'));
    await run({ generator: 'remove', path: '/etc/dir/victim' });
    expect(await readFile(path.join(canary, 'victim'), 'utf8')).toBe('do not delete\n');
    expect(await readlink(path.join(root, 'etc/dir'))).toBe(canary);
  });

  it('dump applies mode, uid and gid from the definition', async () => {
    await run({ generator: 'dump', path: '/etc/secret', content: 'x', mode: '0600', uid: '1234', gid: '5678' });
    const st = await lstat(path.join(root, 'etc/secret'));
    expect(st.mode & 0o7777).toBe(0o600);
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
  });

  it('hosts prepends 127.0.1.1 LXC_NAME and makes an Incus template with the instance name', async () => {
    await writeFile(path.join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
    const meta = await run({ generator: 'hosts', path: '/etc/hosts' });
    expect(await readFile(path.join(root, 'etc/hosts'), 'utf8')).toBe('127.0.1.1\tLXC_NAME\n127.0.0.1\tlocalhost\n');
    expect(meta.incusTemplateFiles['hosts.tpl']).toBe('127.0.1.1\t{{ container.name }}\n127.0.0.1\tlocalhost\n');
    expect(meta.incusTemplates['/etc/hosts']).toEqual({ template: 'hosts.tpl', when: ['create', 'copy'] });
  });

  it('copy into a symlinked directory (absolute and ../..) writes inside the image', async () => {
    await writeFile(path.join(tmp, 'payload'), 'from the definition\n');
    await symlink(canary, path.join(root, 'etc/abs'));
    await symlink('../../../../../../..' + canary, path.join(root, 'etc/rel'));
    await run({ generator: 'copy', source: 'payload', path: '/etc/abs/hostname' });
    await run({ generator: 'copy', source: 'payload', path: '/etc/rel/victim' });
    expect(await readFile(path.join(canary, 'hostname'), 'utf8')).toBe('host file\n');
    expect(await readFile(path.join(canary, 'victim'), 'utf8')).toBe('do not delete\n');
    expect(await readFile(path.join(root, canary, 'hostname'), 'utf8')).toBe('from the definition\n');
    expect(await readFile(path.join(root, canary, 'victim'), 'utf8')).toBe('from the definition\n');
  });

  it('copy onto an absolute symlink follows it inside the image, as a chroot would, never onto the host', async () => {
    await writeFile(path.join(tmp, 'payload'), 'new\n');
    await symlink(path.join(canary, 'victim'), path.join(root, 'etc/motd'));
    await run({ generator: 'copy', source: 'payload', path: '/etc/motd' });
    expect(await readFile(path.join(canary, 'victim'), 'utf8')).toBe('do not delete\n');
    expect(await readFile(path.join(root, canary, 'victim'), 'utf8')).toBe('new\n');
    expect(await readlink(path.join(root, 'etc/motd'))).toBe(path.join(canary, 'victim'));
  });

  it('cloud-init (LXC) removes OpenRC links and creates the disable file inside the image only', async () => {
    await mkdir(path.join(root, 'etc/runlevels/default'), { recursive: true });
    await symlink(path.join(canary, 'victim'), path.join(root, 'etc/runlevels/default/cloud-init'));
    await symlink(canary, path.join(root, 'etc/cloud'));
    await run({ generator: 'cloud-init', name: 'user-data' });
    expect(await readFile(path.join(canary, 'victim'), 'utf8')).toBe('do not delete\n');
    await expect(lstat(path.join(root, 'etc/runlevels/default/cloud-init'))).rejects.toThrow();
    await expect(lstat(path.join(canary, 'cloud-init.disabled'))).rejects.toThrow();
    expect((await lstat(path.join(root, canary, 'cloud-init.disabled'))).isFile()).toBe(true);
  });
});
