/**
 * Bad definitions and the exact diagnostics kiln must print for them
 * (`FILE:LINE:COL: path: message`). Each case is a small file built on a
 * valid base, so the line numbers below count from the top of `text`.
 */
export interface BadCase {
  name: string;
  text: string;
  overrides?: string[];
  strictTemplates?: boolean;
  expected: string[];
}

export const BASE = `image:
  distribution: busybox
  release: "1.36"
  architecture: amd64
source:
  downloader: busybox
  url: https://example.invalid/
`;

const IMAGE_KEYS =
  'distribution, release, architecture, description, expiry, variant, name, serial, architecture_mapped, architecture_kernel, architecture_personality';
const TOP_KEYS = 'image, source, targets, files, packages, actions, mappings, environment, runtime';
const FILE_KEYS =
  'generator, path, content, name, template, templated, mode, uid, gid, pongo, source, releases, architectures, variants, types';
const SET_KEYS = 'packages, action, early, flags, releases, architectures, variants, types';
const PACKAGES_KEYS = 'manager, custom_manager, update, cleanup, sets, repositories';
const MANAGERS = 'apk, apt, dnf, egoportage, opkg, pacman, portage, yum, equo, xbps, zypper, anise, slackpkg';
const GENERATORS = 'dump, copy, template, hostname, hosts, remove, cloud-init, incus-agent, fstab';
const TRIGGERS = 'post-unpack, post-update, post-packages, post-files';
const DOWNLOADERS =
  'almalinux-http, alpinelinux-http, archlinux-http, busybox, centos-http, debootstrap, docker-http, fedora-http, gentoo-http, mmdebstrap, nixos-http, opensuse-http, openwrt-http, rockylinux-http, rootfs-http, ubuntu-http, voidlinux-http';
const MAPS =
  'alpinelinux, altlinux, archlinux, centos, debian, gentoo, openwrt, plamolinux, voidlinux, funtoo, slackware';
const ARCHES =
  'i686, i386, i586, 386, x86, generic_32, x86_64, amd64, generic_64, x86_64_v1, x86_64_v2, x86_64_v3, x86_64_v4, armv6l, armel, arm, armv7l, armhf, armhfp, armv7a_hardfp, armv7, armv7a_vfpv3_hardfp, armv8l, aarch64, arm64, arm64_generic, ppc, powerpc, ppc64, powerpc64, ppc64le, ppc64el, s390x, mips, mipsel, mipsle, mips64, mips64el, mips64le, riscv32, riscv64, loongarch64, loong64';
const APT = `packages:
  manager: apt
`;

export const BAD_CASES: BadCase[] = [
  // ---- unknown keys
  {
    name: 'misspelt image key',
    text: `${BASE}`.replace('  release: "1.36"', '  relase: "1.36"'),
    expected: [`bad.yaml:3:3: image.relase: unknown key 'relase' (did you mean 'release'?); allowed: ${IMAGE_KEYS}`],
  },
  {
    name: 'unknown top-level key',
    text: `${BASE}pakages:\n  manager: apt\n`,
    expected: [`bad.yaml:8:1: pakages: unknown key 'pakages' (did you mean 'packages'?); allowed: ${TOP_KEYS}`],
  },
  {
    name: 'unknown key in a list entry',
    text: `${BASE}files:\n- generator: dump\n  path: /etc/motd\n  contents: hello\n`,
    expected: [
      `bad.yaml:11:3: files[0].contents: unknown key 'contents' (did you mean 'content'?); allowed: ${FILE_KEYS}`,
    ],
  },
  {
    name: 'singular filter key on a package set',
    text: `${BASE}${APT}  sets:\n  - packages: [vim]\n    action: install\n    release: [jammy]\n`,
    expected: [
      `bad.yaml:13:5: packages.sets[0].release: unknown key 'release' (did you mean 'releases'?); allowed: ${SET_KEYS}`,
    ],
  },
  {
    name: "the documented but wrong 'custom-manager' spelling",
    text: `${BASE}packages:\n  custom-manager:\n    install: {cmd: x}\n`,
    expected: [
      `bad.yaml:9:3: packages.custom-manager: unknown key 'custom-manager' (did you mean 'custom_manager'?); allowed: ${PACKAGES_KEYS}`,
    ],
  },
  {
    name: "the old 'create-message' spelling",
    text: `${BASE}targets:\n  lxc:\n    create-message: hi\n`,
    expected: [
      `bad.yaml:10:5: targets.lxc.create-message: unknown key 'create-message' (did you mean 'create_message'?); allowed: create_message, config`,
    ],
  },
  {
    name: 'unknown key far from every allowed one gets no suggestion',
    text: `${BASE}mappings:\n  zzzzzz: 1\n`,
    expected: [`bad.yaml:9:3: mappings.zzzzzz: unknown key 'zzzzzz'; allowed: architecture_map, architectures`],
  },
  // ---- enums
  {
    name: 'misspelt downloader',
    text: BASE.replace('downloader: busybox', 'downloader: debootsrap'),
    expected: [
      `bad.yaml:6:15: source.downloader: unknown value 'debootsrap' (did you mean 'debootstrap'?); allowed: ${DOWNLOADERS}`,
    ],
  },
  {
    name: 'sabayon-http, accepted by distrobuilder but never implemented',
    text: BASE.replace('downloader: busybox', 'downloader: sabayon-http'),
    expected: [
      `bad.yaml:6:15: source.downloader: unknown value 'sabayon-http': sabayon-http has no implementation in distrobuilder either (Sabayon is discontinued); allowed: ${DOWNLOADERS}`,
    ],
  },
  {
    name: 'unknown package manager',
    text: `${BASE}packages:\n  manager: aptitude\n`,
    expected: [`bad.yaml:9:12: packages.manager: unknown value 'aptitude'; allowed: ${MANAGERS}`],
  },
  {
    name: 'misspelt generator',
    text: `${BASE}files:\n- generator: hostnme\n  path: /etc/hostname\n`,
    expected: [
      `bad.yaml:9:14: files[0].generator: unknown value 'hostnme' (did you mean 'hostname'?); allowed: ${GENERATORS}`,
    ],
  },
  {
    name: 'misspelt trigger',
    text: `${BASE}actions:\n- trigger: post-unpak\n  action: "#!/bin/sh\\ntrue"\n`,
    expected: [
      `bad.yaml:9:12: actions[0].trigger: unknown value 'post-unpak' (did you mean 'post-unpack'?); allowed: ${TRIGGERS}`,
    ],
  },
  {
    name: 'misspelt set action',
    text: `${BASE}${APT}  sets:\n  - packages: [vim]\n    action: instal\n`,
    expected: [
      `bad.yaml:12:13: packages.sets[0].action: unknown value 'instal' (did you mean 'install'?); allowed: install, remove`,
    ],
  },
  {
    name: 'unknown lxc config type (distrobuilder silently ignores it)',
    text: `${BASE}targets:\n  lxc:\n    config:\n    - type: sytem\n      content: lxc.arch = x86_64\n`,
    expected: [
      `bad.yaml:11:13: targets.lxc.config[0].type: unknown value 'sytem' (did you mean 'system'?); allowed: all, system, user`,
    ],
  },
  {
    name: 'unknown architecture map',
    text: `${BASE}mappings:\n  architecture_map: debain\n`,
    expected: [
      `bad.yaml:9:21: mappings.architecture_map: unknown value 'debain' (did you mean 'debian'?); allowed: ${MAPS}`,
    ],
  },
  {
    name: 'almalinux architecture map, which distrobuilder lists but has no table for',
    text: `${BASE}mappings:\n  architecture_map: almalinux\n`,
    expected: [
      `bad.yaml:9:21: mappings.architecture_map: unknown value 'almalinux': almalinux has no table in distrobuilder either (it fails there when resolving); AlmaLinux uses kernel names, so omit the map; allowed: ${MAPS}`,
    ],
  },
  {
    name: 'unknown VM filesystem',
    text: `${BASE}targets:\n  incus:\n    vm:\n      filesystem: xfs\n`,
    expected: ["bad.yaml:11:19: targets.incus.vm.filesystem: unknown value 'xfs'; allowed: ext4, btrfs"],
  },
  {
    name: 'unknown architecture',
    text: BASE.replace('architecture: amd64', 'architecture: amd46'),
    expected: [`bad.yaml:4:17: image.architecture: unknown value 'amd46' (did you mean 'amd64'?); allowed: ${ARCHES}`],
  },
  // ---- types
  {
    name: 'a map where a string belongs',
    text: BASE.replace('distribution: busybox', 'distribution:\n    name: busybox'),
    expected: ['bad.yaml:3:5: image.distribution: expected a string, got a map'],
  },
  {
    name: 'a map where a list belongs',
    text: `${BASE}${APT}  sets:\n    packages: [vim]\n`,
    expected: ['bad.yaml:11:5: packages.sets: expected a list of maps, got a map'],
  },
  {
    name: 'a string where a list of packages belongs',
    text: `${BASE}${APT}  sets:\n  - packages: vim\n    action: install\n`,
    expected: ["bad.yaml:11:15: packages.sets[0].packages: expected a list of strings, got 'vim'"],
  },
  {
    name: 'a quoted boolean',
    text: `${BASE}${APT}  update: "true"\n`,
    expected: ["bad.yaml:10:11: packages.update: expected a boolean (true or false), got the quoted string 'true'"],
  },
  {
    name: 'a word that is no boolean',
    text: `${BASE}${APT}  cleanup: maybe\n`,
    expected: ["bad.yaml:10:12: packages.cleanup: expected a boolean (true or false), got 'maybe'"],
  },
  {
    name: 'a negative compat level',
    text: `${BASE}targets:\n  lxc:\n    config:\n    - type: all\n      before: -1\n      content: x\n`,
    expected: ['bad.yaml:12:15: targets.lxc.config[0].before: must be at least 0, got -1'],
  },
  {
    name: 'a VM size with a unit',
    text: `${BASE}targets:\n  incus:\n    vm:\n      size: 4GiB\n`,
    expected: ["bad.yaml:11:13: targets.incus.vm.size: expected a positive integer, got '4GiB'"],
  },
  {
    name: 'keys as one string instead of a list',
    text: `${BASE}  keys: 0x1234\n`,
    expected: ["bad.yaml:8:9: source.keys: expected a list of strings, got '0x1234'"],
  },
  {
    name: 'environment variables as a map',
    text: `${BASE}environment:\n  variables:\n    FOO: bar\n`,
    expected: ['bad.yaml:10:5: environment.variables: expected a list of maps, got a map'],
  },
  {
    name: 'a list of lists in a filter',
    text: `${BASE}files:\n- generator: remove\n  path: /x\n  architectures:\n  - [amd64]\n`,
    expected: ['bad.yaml:12:5: files[0].architectures[0]: expected a string, got a list'],
  },
  // ---- filter values
  {
    name: 'misspelt type filter value',
    text: `${BASE}files:\n- generator: fstab\n  types: [container, vms]\n`,
    expected: ["bad.yaml:10:22: files[0].types[1]: unknown value 'vms' (did you mean 'vm'?); allowed: container, vm"],
  },
  {
    name: 'a filter given as a single string',
    text: `${BASE}actions:\n- trigger: post-files\n  action: "#!/bin/sh"\n  releases: jammy\n`,
    expected: ["bad.yaml:11:13: actions[0].releases: expected a list of strings, got 'jammy'"],
  },
  // ---- missing and empty values, rules
  {
    name: 'missing distribution and downloader',
    text: 'image:\n  release: x\nsource:\n  url: https://example.invalid/\n',
    expected: [
      "bad.yaml:1:1: image: missing required key 'distribution'",
      "bad.yaml:3:1: source: missing required key 'downloader'",
    ],
  },
  {
    name: 'blank distribution',
    text: BASE.replace('distribution: busybox', 'distribution: "  "'),
    expected: ['bad.yaml:2:17: image.distribution: must not be empty'],
  },
  {
    name: 'an action without a shebang',
    text: `${BASE}actions:\n- trigger: post-packages\n  action: |-\n    set -eux\n    rm -rf /tmp/*\n`,
    expected: [
      'bad.yaml:10:11: actions[0].action: the script must start with a shebang line such as #!/bin/sh (it is executed directly)',
    ],
  },
  {
    name: 'an action without its script',
    text: `${BASE}actions:\n- trigger: post-packages\n`,
    expected: ["bad.yaml:9:3: actions[0]: missing required key 'action'"],
  },
  {
    name: 'both manager and custom_manager',
    text: `${BASE}${APT}  custom_manager:\n    clean: {cmd: x}\n    install: {cmd: x}\n    remove: {cmd: x}\n    refresh: {cmd: x}\n    update: {cmd: x}\n`,
    expected: [
      'bad.yaml:11:5: packages.custom_manager: set either packages.manager or packages.custom_manager, not both',
    ],
  },
  {
    name: 'package sets without a manager',
    text: `${BASE}packages:\n  sets:\n  - packages: [vim]\n    action: install\n`,
    expected: [
      `bad.yaml:8:1: packages: a package manager is required: set packages.manager (${MANAGERS}) or packages.custom_manager`,
    ],
  },
  {
    name: 'a custom manager missing a command',
    text: `${BASE}packages:\n  custom_manager:\n    clean: {cmd: x}\n    install: {cmd: x}\n    remove: {cmd: ""}\n    refresh: {cmd: x}\n`,
    expected: [
      "bad.yaml:9:3: packages.custom_manager: missing required key 'update'",
      'bad.yaml:12:19: packages.custom_manager.remove.cmd: must not be empty',
    ],
  },
  {
    name: 'a dump entry without a path',
    text: `${BASE}files:\n- generator: dump\n  content: hello\n`,
    expected: ["bad.yaml:9:3: files[0]: the dump generator needs 'path' (the file to write)"],
  },
  {
    name: 'a cloud-init entry with an unknown file name',
    text: `${BASE}files:\n- generator: cloud-init\n  name: userdata\n`,
    expected: [
      "bad.yaml:10:9: files[0].name: unknown cloud-init file 'userdata'; allowed: user-data, meta-data, vendor-data, network-config",
    ],
  },
  {
    name: 'alpine edge without same_as',
    text: 'image:\n  distribution: alpinelinux\n  release: edge\nsource:\n  downloader: alpinelinux-http\n  url: https://example.invalid/\n',
    expected: [
      'bad.yaml:4:1: source: alpinelinux-http builds edge from a numbered release: set source.same_as (for example 3.22)',
    ],
  },
  {
    name: 'a checksum for a bootstrapper, which verifies signed Release files instead',
    text: `${BASE.replace('downloader: busybox', 'downloader: debootstrap')}  checksum: sha256:${'a'.repeat(64)}\n`,
    expected: [
      "bad.yaml:8:13: source.checksum: source.checksum is not used by debootstrap, which verifies the archive's signed Release files; use source.keys",
    ],
  },
  {
    name: 'an expiry that distrobuilder would silently read as "now"',
    text: BASE.replace('  architecture: amd64', '  architecture: amd64\n  expiry: 30 days'),
    expected: [
      "bad.yaml:5:11: image.expiry: '30 days' is not a duration such as 30d or 1w 2d 3h (units s, m, h, d, w)",
    ],
  },
  {
    name: 'a file mode that is not octal',
    text: `${BASE}files:\n- generator: dump\n  path: /etc/sudoers.d/x\n  mode: rw-r--r--\n`,
    expected: ["bad.yaml:11:9: files[0].mode: 'rw-r--r--' is not octal permissions such as 0644"],
  },
  {
    name: 'an environment variable name with a dash',
    text: `${BASE}environment:\n  variables:\n  - key: MY-VAR\n    value: x\n`,
    expected: ["bad.yaml:10:10: environment.variables[0].key: 'MY-VAR' is not a variable name (letters, digits, _)"],
  },
  {
    name: 'several problems at once, in file order',
    text: `image:\n  distribution: x\n  variant: [a]\nsource:\n  downloader: nope\nfiles:\n- generator: dump\n  path: /a\n  uid: root\n`,
    expected: [
      'bad.yaml:3:12: image.variant: expected a string, got a list',
      `bad.yaml:5:15: source.downloader: unknown value 'nope'; allowed: ${DOWNLOADERS}`,
      "bad.yaml:9:8: files[0].uid: 'root' is not a numeric user id",
    ],
  },
  // ---- templates
  {
    name: 'an unclosed variable in the source URL',
    text: BASE.replace('url: https://example.invalid/', 'url: https://example.invalid/{{ image.release'),
    expected: ["bad.yaml:7:32: source.url: template error: '{{' is not closed with '}}'"],
  },
  {
    name: 'a misspelt filter in the create message',
    text: `${BASE}targets:\n  lxc:\n    create_message: |-\n      Welcome to\n      {{ image.distribution|captfirst }}\n`,
    expected: [
      "bad.yaml:12:29: targets.lxc.create_message: template error: unknown filter 'captfirst' (did you mean 'capfirst'?)",
    ],
  },
  {
    name: 'an if without endif in an LXC config entry',
    text: `${BASE}targets:\n  lxc:\n    config:\n    - type: all\n      content: "{% if image.release %}lxc.arch = x"\n`,
    expected: [
      'bad.yaml:12:17: targets.lxc.config[0].content: template error: {% if %} is not closed with {% endif %}',
    ],
  },
  {
    name: 'an unknown tag in a pongo action',
    text: `${BASE}actions:\n- trigger: post-files\n  pongo: true\n  action: |-\n    #!/bin/sh\n    {% iff image.release %}x{% endif %}\n`,
    expected: [
      "bad.yaml:13:5: actions[0].action: template error: unknown tag 'iff' (did you mean 'if'?); supported: if, elif, else, endif, for, empty, endfor, raw, verbatim, comment",
    ],
  },
  {
    name: 'an undefined variable with strict templates',
    text: `${BASE}packages:\n  manager: apt\n  repositories:\n  - name: sources.list\n    url: deb http://example.invalid/ {{ image.relase }} main\n`,
    strictTemplates: true,
    expected: ["bad.yaml:12:41: packages.repositories[0].url: template error: undefined variable 'image.relase'"],
  },
  {
    name: 'an undefined variable is empty without strict templates, but a bad one in a name is still reported',
    text: BASE.replace('  architecture: amd64', '  architecture: amd64\n  name: "{{ image.distribution | upper"'),
    expected: ["bad.yaml:5:9: image.name: template error: '{{' is not closed with '}}'"],
  },
  {
    name: 'a template error reported together with a schema error',
    text: `${BASE}  keys: ["{{ image.release "]\npackages:\n  manager: ap\n`,
    expected: [
      "bad.yaml:8:11: source.keys[0]: template error: '{{' is not closed with '}}'",
      `bad.yaml:10:12: packages.manager: unknown value 'ap' (did you mean 'apk'?); allowed: ${MANAGERS}`,
    ],
  },
  {
    name: 'an empty package name',
    text: `${BASE}${APT}  sets:\n  - packages: [vim, ~]\n    action: install\n`,
    expected: ['bad.yaml:11:21: packages.sets[0].packages[1]: must not be empty'],
  },
  // ---- overrides
  {
    name: 'an override without =',
    text: BASE,
    overrides: ['image.release'],
    expected: ['-o image.release:1:1: expected KEY=VALUE, such as image.release=noble'],
  },
  {
    name: 'an override of a misspelt key',
    text: BASE,
    overrides: ['image.varient=cloud'],
    expected: [
      `-o image.varient=cloud:1:7: image.varient: unknown key 'varient' in image (did you mean 'variant'?); allowed: ${IMAGE_KEYS}`,
    ],
  },
  {
    name: 'an override index out of range',
    text: `${BASE}actions:\n- trigger: post-files\n  action: "#!/bin/sh"\n`,
    overrides: ['actions.1.trigger=post-unpack'],
    expected: ['-o actions.1.trigger=post-unpack:1:9: actions[1]: index 1 is out of range: actions has 1 entry'],
  },
  {
    name: 'an override of a whole list',
    text: BASE,
    overrides: ['source.keys=ABCD'],
    expected: ['-o source.keys=ABCD:1:8: source.keys: source.keys is a list; give an index, as in source.keys.0'],
  },
  {
    name: 'an override of a whole map',
    text: BASE,
    overrides: ['targets.incus=big'],
    expected: [
      '-o targets.incus=big:1:9: targets.incus: targets.incus is a map; set one of its keys, as in targets.incus.vm',
    ],
  },
  {
    name: 'an override value that is checked like a written one',
    text: `${BASE}${APT}`,
    overrides: ['packages.update=yes'],
    expected: ["-o packages.update=yes:1:17: packages.update: expected a boolean (true or false), got 'yes'"],
  },
  {
    name: 'an override below a string',
    text: BASE,
    overrides: ['image.release.major=1'],
    expected: ["-o image.release.major=1:1:15: image.release: image.release is a string; it has no key 'major'"],
  },
  {
    name: 'a bad override key syntax',
    text: BASE,
    overrides: ['image..release=x'],
    expected: ["-o image..release=x:1:1: bad key 'image..release': empty key segment"],
  },
  // ---- YAML itself
  {
    name: 'a YAML syntax error',
    text: `${BASE}files: [\n`,
    expected: [
      'bad.yaml:9:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'a mapping nested on one line',
    text: 'image:\n  distribution: a b: c\nsource:\n  downloader: busybox\n',
    expected: ['bad.yaml:2:17: YAML syntax error: Nested mappings are not allowed in compact mappings'],
  },
  {
    name: 'a duplicate key',
    text: BASE.replace('  architecture: amd64', '  architecture: amd64\n  release: "1.37"'),
    expected: ["bad.yaml:5:3: image.release: duplicate key 'release' (first defined at line 3, column 3)"],
  },
  {
    name: 'a duplicate top-level section',
    text: `${BASE}source:\n  downloader: rootfs-http\n`,
    expected: ["bad.yaml:8:1: source: duplicate key 'source' (first defined at line 5, column 1)"],
  },
  {
    name: 'a duplicate key together with an unknown key',
    text: BASE.replace('  architecture: amd64', '  architecture: amd64\n  release: "1.37"\n  varaint: cloud'),
    expected: [
      "bad.yaml:5:3: image.release: duplicate key 'release' (first defined at line 3, column 3)",
      `bad.yaml:6:3: image.varaint: unknown key 'varaint' (did you mean 'variant'?); allowed: ${IMAGE_KEYS}`,
    ],
  },
  {
    name: 'two YAML documents',
    text: `${BASE}---\nimage:\n  distribution: x\n`,
    expected: ['bad.yaml:8:1: a definition is a single YAML document; remove the second document'],
  },
  {
    name: 'an empty file',
    text: '# nothing here\n',
    expected: ['bad.yaml:1:1: the file is empty; a definition needs at least image and source'],
  },
  {
    name: 'a list as the document',
    text: '- image\n- source\n',
    expected: ['bad.yaml:1:1: expected a map, got a list'],
  },
];
