import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generators } from '../../src/customize/generators/index.js';
import { seedTemplate } from '../../src/customize/generators/cloud-init.js';
import { emptyMetadata } from '../../src/customize/metadata.js';
import { internalActions } from '../../src/customize/internal/index.js';
import { POLICY_RC_D } from '../../src/customize/internal/policy-rc-d.js';
import type { FileEntry } from '../../src/definition/types.js';
import type { Plan, TargetKind } from '../../src/plan/types.js';
import { KilnError } from '../../src/util/errors.js';
import { MemorySink, nullSink } from '../../src/util/events.js';

describe('file generators', () => {
  let tmp: string;
  let root: string;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-gens-'));
    root = path.join(tmp, 'rootfs');
    await mkdir(path.join(root, 'etc'), { recursive: true });
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** A plan as makePlan leaves it, reduced to what generators read. */
  function plan(targets: TargetKind[], type: 'container' | 'vm' = 'container', filesystem?: string): Plan {
    return {
      targets,
      definitionFile: path.join(tmp, 'def.yaml'),
      definition: { targets: { type, ...(filesystem ? { incus: { vm: { filesystem } } } : {}) } },
    } as unknown as Plan;
  }

  async function run(entry: FileEntry, p: Plan = plan(['lxc', 'incus']), sink = nullSink) {
    const gen = generators[entry.generator];
    if (!gen) throw new Error(`no generator ${entry.generator}`);
    const metadata = emptyMetadata();
    await gen.run({ rootfs: root, entry, step: 'files[0]', plan: p, metadata, sink });
    return metadata;
  }

  describe('copy', () => {
    beforeEach(async () => {
      await mkdir(path.join(tmp, 'src/tree/sub'), { recursive: true });
      await writeFile(path.join(tmp, 'src/tool'), '#!/bin/sh\n');
      await chmod(path.join(tmp, 'src/tool'), 0o750);
      await writeFile(path.join(tmp, 'src/a.conf'), 'a\n');
      await writeFile(path.join(tmp, 'src/b.conf'), 'b\n');
      await writeFile(path.join(tmp, 'src/tree/sub/file'), 'deep\n');
      await chmod(path.join(tmp, 'src/tree/sub'), 0o700);
      await symlink('sub/file', path.join(tmp, 'src/tree/link'));
    });

    it('keeps the source mode unless the definition sets one (distrobuilder drops it)', async () => {
      await run({ generator: 'copy', source: 'src/tool', path: '/usr/local/bin/tool' });
      expect((await lstat(path.join(root, 'usr/local/bin/tool'))).mode & 0o7777).toBe(0o750);
      await run({
        generator: 'copy',
        source: 'src/tool',
        path: '/usr/local/bin/tool2',
        mode: '0700',
        uid: '12',
        gid: '34',
      });
      const st = await lstat(path.join(root, 'usr/local/bin/tool2'));
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, 12, 34]);
    });

    it('copies a directory recursively with its modes and recreates symlinks as they are', async () => {
      await run({ generator: 'copy', source: 'src/tree', path: '/opt/tree' });
      expect(await readFile(path.join(root, 'opt/tree/sub/file'), 'utf8')).toBe('deep\n');
      expect((await lstat(path.join(root, 'opt/tree/sub'))).mode & 0o7777).toBe(0o700);
      expect(await readlink(path.join(root, 'opt/tree/link'))).toBe('sub/file');
    });

    it('a glob in the last component copies every match into the path as a directory', async () => {
      await run({ generator: 'copy', source: 'src/*.conf', path: '/etc/app' });
      expect(await readFile(path.join(root, 'etc/app/a.conf'), 'utf8')).toBe('a\n');
      expect(await readFile(path.join(root, 'etc/app/b.conf'), 'utf8')).toBe('b\n');
    });

    it('a trailing / puts a single file inside the directory', async () => {
      await run({ generator: 'copy', source: 'src/a.conf', path: '/etc/app/' });
      expect(await readFile(path.join(root, 'etc/app/a.conf'), 'utf8')).toBe('a\n');
    });

    it('a source matching nothing is an error naming it', async () => {
      await expect(run({ generator: 'copy', source: 'src/missing*', path: '/x' })).rejects.toThrow(
        /copy source 'src\/missing\*' matches no file/,
      );
    });
  });

  describe('cloud-init', () => {
    it('Incus: NoCloud seed templates with instance config first, then user.*, then the default', async () => {
      const meta = await run({ generator: 'cloud-init', name: 'user-data' }, plan(['incus']));
      expect(meta.incusTemplateFiles['cloud-init-user-data.tpl']).toBe(seedTemplate('user-data').template);
      expect(meta.incusTemplateFiles['cloud-init-user-data.tpl']).toContain(
        'config_get("cloud-init.user-data", config_get("user.user-data", properties.default))',
      );
      expect(meta.incusTemplates['/var/lib/cloud/seed/nocloud-net/user-data']).toEqual({
        template: 'cloud-init-user-data.tpl',
        when: ['create', 'copy'],
        properties: { default: '#cloud-config\n{}' },
      });
    });

    it('Incus: meta-data names the instance; network-config defaults to DHCP on eth0 (enp5s0 in a VM); content replaces the default', async () => {
      const meta = await run({ generator: 'cloud-init', name: 'meta-data' }, plan(['incus']));
      expect(meta.incusTemplateFiles['cloud-init-meta-data.tpl']).toContain(
        'instance-id: {{ container.name }}\nlocal-hostname: {{ container.name }}',
      );
      const net = await run(
        { generator: 'cloud-init', name: 'network-config', path: '/seed/net', content: 'version: 2' },
        plan(['incus']),
      );
      const tpl = net.incusTemplateFiles['cloud-init-network-config.tpl'] as string;
      expect(tpl).toContain('name: eth0');
      expect(tpl).toContain('instance.type == "virtual-machine"');
      expect(net.incusTemplates['/seed/net']?.properties).toEqual({ default: 'version: 2' });
    });

    it('LXC alone: cloud-init is disabled in the image', async () => {
      const meta = await run({ generator: 'cloud-init', name: 'vendor-data' }, plan(['lxc']));
      expect(await readFile(path.join(root, 'etc/cloud/cloud-init.disabled'), 'utf8')).toBe('');
      expect(meta.incusTemplates).toEqual({});
    });

    it('LXC and Incus from one root: the root keeps cloud-init for Incus, rootfs.tar.xz alone gets it switched off', async () => {
      const sink = new MemorySink();
      await mkdir(path.join(root, 'etc/runlevels/default'), { recursive: true });
      await symlink('/etc/init.d/cloud-init', path.join(root, 'etc/runlevels/default/cloud-init'));
      const meta = await run({ generator: 'cloud-init', name: 'vendor-data' }, plan(['lxc', 'incus']), sink);
      await expect(lstat(path.join(root, 'etc/cloud/cloud-init.disabled'))).rejects.toThrow();
      expect((await lstat(path.join(root, 'etc/runlevels/default/cloud-init'))).isSymbolicLink()).toBe(true);
      expect(meta.lxcOnly).toEqual({
        remove: ['etc/runlevels/default/cloud-init'],
        add: [{ path: 'etc/cloud/cloud-init.disabled', content: '', mode: 0o644 }],
      });
      expect(meta.incusTemplates['/var/lib/cloud/seed/nocloud-net/vendor-data']).toBeDefined();
      expect(sink.events).toContainEqual(
        expect.objectContaining({
          type: 'log',
          message: expect.stringContaining('cloud-init is disabled in rootfs.tar.xz only'),
        }),
      );
    });

    it('an unknown seed name is an error listing the allowed ones', async () => {
      await expect(run({ generator: 'cloud-init', name: 'userdata' })).rejects.toThrow(
        "cloud-init name 'userdata' must be one of user-data, meta-data, vendor-data, network-config",
      );
    });
  });

  describe('virtual-machine generators', () => {
    it('fstab writes the labelled root and ESP (btrfs with its subvolume) for an Incus VM', async () => {
      await run({ generator: 'fstab', path: '/ignored' }, plan(['incus'], 'vm'));
      expect(await readFile(path.join(root, 'etc/fstab'), 'utf8')).toBe(
        'LABEL=rootfs / ext4 defaults 0 0\nLABEL=UEFI /boot/efi vfat defaults 0 0\n',
      );
      await run({ generator: 'fstab' }, plan(['incus'], 'vm', 'btrfs'));
      expect(await readFile(path.join(root, 'etc/fstab'), 'utf8')).toContain(
        'LABEL=rootfs / btrfs defaults,subvol=@ 0 0',
      );
    });

    it('fstab and incus-agent refuse container builds, telling to filter the entry with types: [vm]', async () => {
      for (const generator of ['fstab', 'incus-agent']) {
        const err = await run({ generator }, plan(['lxc'])).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(KilnError);
        expect((err as Error).message).toContain("add 'types: [vm]'");
      }
    });

    it('incus-agent installs the systemd unit, its setup script and the udev rule in a systemd image', async () => {
      await mkdir(path.join(root, 'usr/lib/systemd/system'), { recursive: true });
      await mkdir(path.join(root, 'sbin'), { recursive: true });
      await symlink('/lib/systemd/systemd', path.join(root, 'sbin/init'));
      await run({ generator: 'incus-agent' }, plan(['incus'], 'vm'));
      const unit = await readFile(path.join(root, 'usr/lib/systemd/system/incus-agent.service'), 'utf8');
      expect(unit).toContain('ExecStartPre=/usr/lib/systemd/incus-agent-setup');
      expect(unit).toContain('ExecStart=/run/incus_agent/incus-agent');
      expect((await lstat(path.join(root, 'usr/lib/systemd/incus-agent-setup'))).mode & 0o777).toBe(0o755);
      expect(await readFile(path.join(root, 'usr/lib/udev/rules.d/99-incus-agent.rules'), 'utf8')).toContain(
        'virtio-ports/org.linuxcontainers.incus',
      );
    });

    it('incus-agent adds OpenRC services to the default runlevel in an OpenRC image', async () => {
      await mkdir(path.join(root, 'sbin'), { recursive: true });
      await symlink('/bin/busybox', path.join(root, 'sbin/init'));
      await run({ generator: 'incus-agent' }, plan(['incus'], 'vm'));
      expect(await readlink(path.join(root, 'etc/runlevels/default/incus-agent'))).toBe('/etc/init.d/incus-agent');
      expect(await readFile(path.join(root, 'etc/init.d/incus-agent'), 'utf8')).toMatch(/^#!\/sbin\/openrc-run/);
    });
  });

  describe('steps kiln adds itself', () => {
    const internal = (what: string, undo = new Map<string, () => Promise<void>>()) => {
      const action = internalActions[what];
      if (!action) throw new Error(what);
      return action.run({
        rootfs: root,
        step: what,
        plan: plan(['lxc']),
        sink: nullSink,
        undo,
        metadata: emptyMetadata(),
      });
    };

    it('the LXC systemd generator goes into images with /etc/systemd only, executable', async () => {
      await internal('lxc-systemd-generator');
      await expect(lstat(path.join(root, 'etc/systemd/system-generators/lxc'))).rejects.toThrow();
      await mkdir(path.join(root, 'etc/systemd'));
      await internal('lxc-systemd-generator');
      const st = await lstat(path.join(root, 'etc/systemd/system-generators/lxc'));
      expect(st.mode & 0o777).toBe(0o755);
      const script = await readFile(path.join(root, 'etc/systemd/system-generators/lxc'), 'utf8');
      expect(script).toMatch(/^#!\/bin\/sh\n# kiln LXC systemd generator, data version \d+/);
    });

    it('policy-rc.d is written while the build runs and removed by its undo, but an image policy is left alone', async () => {
      await mkdir(path.join(root, 'usr/sbin'), { recursive: true });
      const undo = new Map<string, () => Promise<void>>();
      await internal('policy-rc.d:install', undo);
      expect(await readFile(path.join(root, 'usr/sbin/policy-rc.d'), 'utf8')).toBe(POLICY_RC_D);
      expect((await lstat(path.join(root, 'usr/sbin/policy-rc.d'))).mode & 0o777).toBe(0o755);
      await internal('policy-rc.d:remove', undo);
      await expect(lstat(path.join(root, 'usr/sbin/policy-rc.d'))).rejects.toThrow();

      await writeFile(path.join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 0\n');
      const undo2 = new Map<string, () => Promise<void>>();
      await internal('policy-rc.d:install', undo2);
      await internal('policy-rc.d:remove', undo2);
      expect(await readFile(path.join(root, 'usr/sbin/policy-rc.d'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    });
  });
});
