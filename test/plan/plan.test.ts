import { describe, expect, it } from 'vitest';
import { loadDefinitionText } from '../../src/definition/index.js';
import { compatLevels, makePlan } from '../../src/plan/index.js';
import type { TargetKind } from '../../src/plan/types.js';
import { DefinitionError, KilnError } from '../../src/util/errors.js';

const HEAD = `image:
  distribution: debian
  release: bookworm
  architecture: x86_64
  serial: "20260101_00:00"
source:
  downloader: debootstrap
  url: http://deb.invalid/{{ image.distribution }}
mappings:
  architecture_map: debian
`;

function plan(body: string, opts: { overrides?: string[]; targets?: TargetKind[]; vm?: boolean } = {}) {
  const loaded = loadDefinitionText(HEAD + body, 'p.yaml', {
    overrides: opts.overrides ?? [],
    targetType: opts.vm ? 'vm' : 'container',
  });
  return makePlan(loaded, { targets: opts.targets ?? ['lxc', 'incus'] });
}
const names = (p: ReturnType<typeof plan>): string[] => p.steps.map((s) => s.name);
const argvs = (p: ReturnType<typeof plan>): string[] =>
  p.steps.flatMap((s) => (s.kind === 'packages' ? [s.argv.join(' ')] : []));

const ACTIONS = `actions:
- trigger: post-files
  action: "#!/bin/sh\\necho files"
- trigger: post-packages
  action: "#!/bin/sh\\necho packages"
- trigger: post-update
  action: "#!/bin/sh\\necho update"
- trigger: post-unpack
  action: "#!/bin/sh\\necho unpack"
`;

describe('the package flow (definitions-spec 4)', () => {
  it('does nothing at all, not even a refresh or a clean, when no set matches and update is off', () => {
    const p = plan(
      `packages:\n  manager: apt\n  cleanup: true\n  sets:\n  - packages: [vim]\n    action: install\n    releases: [trixie]\n${ACTIONS}`,
    );
    expect(argvs(p)).toEqual([]);
    // post-packages still runs; post-update does not.
    expect(names(p)).toEqual([
      'policy-rc.d:install',
      'post-unpack[0]',
      'post-packages[0]',
      'lxc-systemd-generator',
      'post-files[0]',
      'policy-rc.d:remove',
    ]);
  });

  it('runs refresh, upgrade, post-update actions, sets, clean, post-packages in that order', () => {
    const p = plan(
      `packages:\n  manager: apt\n  update: true\n  cleanup: true\n  sets:\n  - packages: [vim]\n    action: install\n${ACTIONS}`,
    );
    expect(names(p)).toEqual([
      'policy-rc.d:install',
      'post-unpack[0]',
      'packages.refresh',
      'packages.update',
      'post-update[0]',
      'packages.install[0]',
      'packages.clean',
      'apt-lists:record',
      'post-packages[0]',
      'lxc-systemd-generator',
      'post-files[0]',
      // Services stay off while post-files actions may still install packages.
      'policy-rc.d:remove',
    ]);
    expect(argvs(p)).toEqual([
      'apt-get -y update',
      'apt-get -y dist-upgrade',
      'apt-get -y install vim',
      'apt-get -y clean',
    ]);
  });

  it('refreshes and upgrades with update on even when no set matches', () => {
    const p = plan('packages:\n  manager: apk\n  update: true\n');
    expect(argvs(p)).toEqual(['apk --no-cache update', 'apk --no-cache upgrade']);
  });

  it('merges consecutive sets with the same action and identical flags, keeping order', () => {
    const p = plan(`packages:
  manager: apt
  sets:
  - {packages: [a, b], action: install}
  - {packages: [c], action: install}
  - {packages: [d], action: install, flags: [--no-install-recommends]}
  - {packages: [e], action: install, flags: [--no-install-recommends]}
  - {packages: [f], action: remove}
  - {packages: [g], action: install}
  - {packages: [h], action: install, releases: [trixie]}
  - {packages: [i], action: install}
`);
    expect(argvs(p)).toEqual([
      'apt-get -y update',
      'apt-get -y install a b c',
      'apt-get -y install --no-install-recommends d e',
      'apt-get -y remove --auto-remove f',
      'apt-get -y install g i',
    ]);
    expect(names(p).filter((n) => n.startsWith('packages.'))).toEqual([
      'packages.refresh',
      'packages.install[0]',
      'packages.install[1]',
      'packages.remove[0]',
      'packages.install[2]',
    ]);
    const merged = p.steps.find((s) => s.name === 'packages.install[2]');
    expect(merged?.kind === 'packages' && merged.origin).toEqual(['packages.sets[5]', 'packages.sets[7]']);
  });

  it('orders arguments as command, global flags, sub-command flags, set flags, packages (zypper)', () => {
    const p = plan(
      'packages:\n  manager: zypper\n  sets:\n  - {packages: [vim], action: install, flags: [--no-recommends]}\n',
    );
    expect(argvs(p)[1]).toBe(
      'zypper --non-interactive --gpg-auto-import-keys install --allow-downgrade --replacefiles --no-recommends vim',
    );
  });

  it('runs custom manager commands with global flags first, even when a command has no flags of its own', () => {
    const p = plan(`packages:
  custom_manager:
    flags: [--yes]
    refresh: {cmd: pm, flags: [sync]}
    update: {cmd: pm-up}
    install: {cmd: pm, flags: [add]}
    remove: {cmd: pm, flags: [del]}
    clean: {cmd: "true"}
  update: true
  cleanup: true
  sets:
  - {packages: [x], action: install}
`);
    expect(argvs(p)).toEqual(['pm --yes sync', 'pm-up --yes', 'pm --yes add x', 'true --yes']);
  });

  it('leaves out the phases a manager does not have (opkg has no upgrade, apk no clean)', () => {
    expect(argvs(plan('packages:\n  manager: opkg\n  update: true\n  cleanup: true\n'))).toEqual([
      'sh -c mkdir -p /var/lock && opkg update',
      'rm -rf /tmp/opkg-lists/',
    ]);
    expect(argvs(plan('packages:\n  manager: apk\n  update: true\n  cleanup: true\n'))).toEqual([
      'apk --no-cache update',
      'apk --no-cache upgrade',
    ]);
  });

  it('initialises the pacman keyring for the image architecture before anything else', () => {
    const p = plan('packages:\n  manager: pacman\n', {
      overrides: ['image.architecture=aarch64', 'mappings.architecture_map=archlinux'],
    });
    expect(p.steps[0]).toMatchObject({
      name: 'packages.setup',
      argv: ['sh', '-c', expect.stringContaining('pacman-key --populate archlinuxarm')],
    });
  });
});

describe('early package sets', () => {
  const sets = `packages:
  manager: apt
  sets:
  - {packages: [gnupg], action: install, early: true}
  - {packages: [nano], action: remove, early: true}
  - {packages: [vm-only], action: install, early: true, types: [vm]}
  - {packages: [vim], action: install}
`;
  it('go to the bootstrapper, untyped entries only, and leave the normal flow', () => {
    const p = plan(sets);
    expect(p.source.early).toEqual({ install: ['gnupg'], remove: ['nano'] });
    expect(argvs(p)).toEqual(['apt-get -y update', 'apt-get -y install vim']);
  });

  it('stay in the normal flow when the downloader has no bootstrapper (distrobuilder drops them)', () => {
    const p = plan(sets, { overrides: ['source.downloader=rootfs-http'] });
    expect(p.source.early).toEqual({ install: [], remove: [] });
    // The [vm] set is filtered out of a container build like any other typed set.
    expect(argvs(p)).toEqual([
      'apt-get -y update',
      'apt-get -y install gnupg',
      'apt-get -y remove --auto-remove nano',
      'apt-get -y install vim',
    ]);
  });
});

describe('rendering and filtering', () => {
  it('renders the source URL and keys, repositories, and pongo actions and files only', () => {
    const p = plan(`packages:
  manager: apt
  repositories:
  - name: sources.list
    url: deb http://deb.invalid {{ image.release }} main
    architectures: [amd64]
  - name: ports
    url: deb http://ports.invalid {{ image.release }} main
    architectures: [arm64]
files:
- generator: dump
  path: /etc/{{ image.release }}
  content: "{{ image.release }}"
  pongo: true
- generator: dump
  path: /etc/raw
  content: "{{ image.release }}"
actions:
- trigger: post-unpack
  pongo: true
  action: "#!/bin/sh\\necho {{ image.architecture_mapped }}"
- trigger: post-unpack
  action: "#!/bin/sh\\necho {{ image.architecture_mapped }}"
`);
    expect(p.source.source.url).toBe('http://deb.invalid/debian');
    const repos = p.steps.find((s) => s.kind === 'repositories');
    expect(repos).toMatchObject({
      name: 'repositories',
      manager: 'apt',
      repositories: [{ name: 'sources.list', url: 'deb http://deb.invalid bookworm main' }],
    });
    const gens = p.steps.filter((s) => s.kind === 'generator');
    expect(gens.map((g) => g.kind === 'generator' && [g.name, g.entry.path, g.entry.content])).toEqual([
      ['files[0].dump', '/etc/bookworm', 'bookworm'],
      ['files[1].dump', '/etc/raw', '{{ image.release }}'],
    ]);
    const scripts = p.steps.flatMap((s) => (s.kind === 'action' ? [s.script] : []));
    expect(scripts).toEqual(['#!/bin/sh\necho amd64', '#!/bin/sh\necho {{ image.architecture_mapped }}']);
  });

  it('hands repositories to the customization stage for every manager (it decides what each does)', () => {
    const p = plan('packages:\n  manager: portage\n  repositories:\n  - {name: extra, url: "x"}\n');
    expect(p.steps.find((s) => s.kind === 'repositories')).toMatchObject({
      manager: 'portage',
      repositories: [{ name: 'extra', url: 'x' }],
    });
  });

  it('names actions by their rank among the actions of their trigger, whatever the filters', () => {
    const p = plan(`actions:
- {trigger: post-files, action: "#!/bin/sh", variants: [cloud]}
- {trigger: post-files, action: "#!/bin/sh"}
- {trigger: post-unpack, action: "#!/bin/sh"}
`);
    expect(names(p).filter((n) => n.startsWith('post-'))).toEqual(['post-unpack[0]', 'post-files[1]']);
  });

  it('applies type filters by the build type: container steps for containers, vm steps for VMs', () => {
    const body = `files:
- {generator: fstab, types: [vm]}
- {generator: remove, path: /c, types: [container]}
- {generator: remove, path: /both, types: [container, vm]}
`;
    expect(names(plan(body))).toEqual(['files[1].remove', 'files[2].remove', 'lxc-systemd-generator']);
    expect(names(plan(body, { vm: true, targets: ['incus'] }))).toEqual([
      'files[0].fstab',
      'files[2].remove',
      'lxc-systemd-generator',
    ]);
  });

  it('refuses VM-only generators in LXC images, at the entry', () => {
    try {
      plan('files:\n- generator: incus-agent\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DefinitionError);
      expect((e as DefinitionError).message).toBe(
        'p.yaml:12:3: files[0]: the incus-agent generator is for virtual machines and LXC images do not support it; limit the entry with types: [vm]',
      );
    }
    expect(names(plan('files:\n- generator: incus-agent\n', { targets: ['incus'] }))).toContain('files[0].incus-agent');
  });

  it('refuses an LXC target for a VM build', () => {
    expect(() => plan('', { vm: true })).toThrow(KilnError);
  });
});

describe('the environment (definitions-spec 1.9)', () => {
  it('starts from the four defaults and adds matching variables', () => {
    const p = plan(`environment:
  variables:
  - {key: LANG, value: C.UTF-8}
  - {key: ONLY_VM, value: x, types: [vm]}
  - {key: TERM, value: dumb}
`);
    expect(p.environment).toEqual({
      PATH: '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
      SHELL: '/bin/sh',
      TERM: 'dumb',
      DEBIAN_FRONTEND: 'noninteractive',
      LANG: 'C.UTF-8',
    });
  });

  it('drops the defaults with clear_defaults', () => {
    expect(plan('environment:\n  clear_defaults: true\n  variables:\n  - {key: A, value: b}\n').environment).toEqual({
      A: 'b',
    });
  });
});

describe('LXC config files and compat levels (definitions-spec 1.4)', () => {
  const table: Array<[string, { before?: number; after?: number }, number[]]> = [
    ['no bounds', {}, [1, 2, 3, 4, 5]],
    ['before 5', { before: 5 }, [1, 2, 3, 4]],
    ['after 4', { after: 4 }, [5]],
    ['after 1, before 4 (strictly between)', { after: 1, before: 4 }, [2, 3]],
    ['after 3, before 2 (outside)', { after: 3, before: 2 }, [1, 4, 5]],
    ['after 2, before 2 (outside)', { after: 2, before: 2 }, [1, 3, 4, 5]],
    ['before 0 means no upper bound', { before: 0, after: 2 }, [3, 4, 5]],
  ];
  for (const [name, entry, levels] of table) {
    it(`puts an entry with ${name} in levels ${levels.join(', ')}`, () => {
      expect(compatLevels(entry)).toEqual(levels);
    });
  }

  it('writes config (level 5) and config.N, per type, rendered and newline-terminated, for lxc targets only', () => {
    const body = `targets:
  lxc:
    create_message: "You just created {{ image.description }}"
    config:
    - {type: all, before: 5, content: "lxc.include = old.conf"}
    - {type: user, after: 4, content: "lxc.include = userns.conf"}
    - {type: system, content: "lxc.arch = {{ image.architecture_personality }}"}
    - {type: all, content: "only.vm = 1", types: [vm]}
`;
    const p = plan(body);
    expect(p.lxc?.createMessage).toBe('You just created Debian bookworm amd64 (20260101_00:00)');
    expect(p.lxc?.configFiles).toEqual({
      config: 'lxc.arch = linux64\n',
      'config-user': 'lxc.include = userns.conf\n',
      'config-user.1': 'lxc.include = old.conf\n',
      'config-user.2': 'lxc.include = old.conf\n',
      'config-user.3': 'lxc.include = old.conf\n',
      'config-user.4': 'lxc.include = old.conf\n',
      'config.1': 'lxc.include = old.conf\nlxc.arch = linux64\n',
      'config.2': 'lxc.include = old.conf\nlxc.arch = linux64\n',
      'config.3': 'lxc.include = old.conf\nlxc.arch = linux64\n',
      'config.4': 'lxc.include = old.conf\nlxc.arch = linux64\n',
    });
    expect(plan(body, { targets: ['incus'] }).lxc).toBeUndefined();
  });
});
