/**
 * The definition schema, written once as data. The validator (decode.ts)
 * walks it to check and type a parsed file, and json-schema.ts turns it into
 * the JSON Schema shipped in `schema/` for editors. Changing a key here
 * changes both.
 */
import { ARCHITECTURE_NAMES, ARCHITECTURE_MAP_NAMES } from './architectures.js';
import { DOWNLOADER_NAMES, DOWNLOADERS_NOT_IN_KILN, GENERATOR_NAMES, MANAGER_NAMES } from './registry-names.js';
import { nearest } from './suggest.js';

interface Base {
  description: string;
}

export interface StringSchema extends Base {
  type: 'string';
  enum?: readonly string[];
  /** Extra words for a rejected enum value (why it is not allowed). */
  enumNotes?: Readonly<Record<string, string>>;
  pattern?: { regex: string; hint: string };
  /** Rendered by the template engine: always, or only when the entry has `pongo: true`. */
  template?: 'always' | 'pongo';
  /** Blank (empty or only spaces) is an error. */
  nonBlank?: boolean;
}

export interface BooleanSchema extends Base {
  type: 'boolean';
}

export interface IntegerSchema extends Base {
  type: 'integer';
  minimum?: number;
  maximum?: number;
}

export interface ArraySchema extends Base {
  type: 'array';
  items: SchemaNode;
  minItems?: number;
}

export interface ObjectSchema extends Base {
  type: 'object';
  properties: Readonly<Record<string, SchemaNode>>;
  required?: readonly string[];
  /** Keys accepted in YAML but recomputed by kiln (distrobuilder does the same). */
  computed?: readonly string[];
}

export interface MapSchema extends Base {
  type: 'map';
  values: SchemaNode;
}

export type SchemaNode = StringSchema | BooleanSchema | IntegerSchema | ArraySchema | ObjectSchema | MapSchema;

export const DOWNLOADERS: readonly string[] = DOWNLOADER_NAMES;
export const MANAGERS: readonly string[] = MANAGER_NAMES;
export const GENERATORS: readonly string[] = GENERATOR_NAMES;

/** Why a name distrobuilder knows is refused, with the closest name kiln has. */
const notInKiln = (names: readonly string[], implemented: readonly string[]): Record<string, string> =>
  Object.fromEntries(
    names.map((n) => [
      n,
      `${n} is not implemented in kiln (closest implemented: '${nearest(n, implemented) ?? ''}'; ` +
        "any distribution's root tarball can be fetched with 'rootfs-http')",
    ]),
  );

export const TRIGGERS = ['post-unpack', 'post-update', 'post-packages', 'post-files'] as const;

export const CLOUD_INIT_NAMES = ['user-data', 'meta-data', 'vendor-data', 'network-config'] as const;

/** The sizes parseSize (src/util/size.ts) reads. */
const SIZE_PATTERN = {
  regex: '^\\s*\\d+(\\.\\d+)?\\s*[bkmgtBKMGT]?([iI]?[bB])?\\s*$',
  hint: 'a size such as 512M, 2G or 1048576',
};

const str = (description: string, extra: Omit<StringSchema, 'type' | 'description'> = {}): StringSchema => ({
  type: 'string',
  description,
  ...extra,
});
const bool = (description: string): BooleanSchema => ({ type: 'boolean', description });
const strList = (description: string, items: StringSchema = str('')): ArraySchema => ({
  type: 'array',
  description,
  items,
});

const FILTER_PROPS: Readonly<Record<string, SchemaNode>> = {
  releases: strList('Only when image.release is one of these.'),
  architectures: strList('Only when the mapped architecture (image.architecture_mapped) is one of these.'),
  variants: strList('Only when image.variant is one of these.'),
  types: strList(
    'Only for these target types; entries without types are untyped (see the filter rules).',
    str('Target type.', { enum: ['container', 'vm'] }),
  ),
};

const withFilters = (o: ObjectSchema): ObjectSchema => ({ ...o, properties: { ...o.properties, ...FILTER_PROPS } });

const managerCommand: ObjectSchema = {
  type: 'object',
  description: 'A custom package manager command.',
  properties: {
    cmd: str('Program to run (looked up in the image PATH; not a shell command line).', { nonBlank: true }),
    flags: strList('Arguments placed after the global flags.'),
  },
  required: ['cmd'],
};

export const DEFINITION_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'A kiln (distrobuilder-compatible) image definition.',
  required: ['image', 'source'],
  properties: {
    image: {
      type: 'object',
      description: 'What the image is.',
      required: ['distribution'],
      computed: ['architecture_mapped', 'architecture_kernel', 'architecture_personality'],
      properties: {
        distribution: str('Distribution name (Incus property os).', { nonBlank: true }),
        release: str('Release (used by filters and most downloaders).'),
        architecture: str('Architecture, any Incus name or alias; defaults to the host architecture.', {
          enum: ARCHITECTURE_NAMES,
        }),
        description: str(
          'Image description (template); default "<Distribution> <release> <arch>[ (<variant>)] (<serial>)".',
          { template: 'always' },
        ),
        expiry: str('Lifetime such as 30d or "1w 2d 3h" (s, m = minutes, h, d, w).', {
          pattern: {
            regex: '^(\\s*(\\d+\\s*[smhdw]\\s*)+)?$',
            hint: 'a duration such as 30d or 1w 2d 3h (units s, m, h, d, w)',
          },
        }),
        variant: str('Variant (default "default").'),
        name: str('Image name (template); default "<distribution>-<release>-<arch>-<variant>-<serial>".', {
          template: 'always',
        }),
        serial: str('Build serial; default the UTC time as YYYYMMDD_HH:MM.'),
        architecture_mapped: str("Computed: the architecture in the distribution's naming (mappings)."),
        architecture_kernel: str('Computed: the kernel architecture name (x86_64, aarch64, ...).'),
        architecture_personality: str('Computed: linux32 or linux64.'),
      },
    },
    source: {
      type: 'object',
      description: 'Where the root filesystem comes from.',
      required: ['downloader'],
      properties: {
        downloader: str('Downloader.', {
          enum: DOWNLOADERS,
          enumNotes: {
            ...notInKiln(DOWNLOADERS_NOT_IN_KILN, DOWNLOADERS),
            'sabayon-http': 'sabayon-http has no implementation in distrobuilder either (Sabayon is discontinued)',
          },
        }),
        url: str('Mirror or base URL (template).', { template: 'always' }),
        keys: strList(
          'GPG key fingerprints or ASCII-armored public keys (each a template).',
          str('Key.', { template: 'always' }),
        ),
        keyserver: str('Keyserver for fingerprints (no default: the old default pool is dead).'),
        variant: str('Downloader-specific variant (debootstrap --variant, ISO flavour, ...).'),
        suite: str('debootstrap: suite to use instead of image.release.'),
        same_as: str('debootstrap: script alias for a new release; alpinelinux-http: real release behind edge.'),
        skip_verification: bool('Skip checksum and signature checks where the downloader allows it.'),
        components: strList(
          'debootstrap --components; rpmbootstrap extra packages (each a template).',
          str('Component.', { template: 'always' }),
        ),
        unpack: {
          type: 'object',
          description:
            'kiln extension: bounds on what the downloaded archive may expand to (defaults: 16G of file data, 4000000 entries, 200 times the archive beyond the first 1G, no device nodes); hitting one stops the build.',
          properties: {
            max_size: str('Most bytes of file data, e.g. 32G.', { pattern: SIZE_PATTERN }),
            max_entries: { type: 'integer', description: 'Most entries (files, directories, links).', minimum: 1 },
            max_ratio: {
              type: 'integer',
              description: "Most times the archive's own size its contents may be, once past 1G.",
              minimum: 1,
            },
            devices: {
              type: 'boolean',
              description: 'Keep the character and block device nodes of the archive (left out by default).',
            },
          },
        },
        checksum: str(
          'kiln extension: expected digest (sha256:HEX or sha512:HEX) of the file the downloader fetches; not for debootstrap/mmdebstrap.',
          {
            pattern: {
              regex: '^(sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$',
              hint: 'sha256:<64 hex digits> or sha512:<128 hex digits>',
            },
          },
        ),
      },
    },
    targets: {
      type: 'object',
      description: 'Target-specific settings.',
      properties: {
        lxc: {
          type: 'object',
          description: 'LXC (meta.tar.xz) settings.',
          properties: {
            create_message: str('Message LXC prints after creating a container (template).', { template: 'always' }),
            config: {
              type: 'array',
              description: 'Lines of the LXC config files, per compat level.',
              items: withFilters({
                type: 'object',
                description: 'One config entry.',
                required: ['type', 'content'],
                properties: {
                  type: str('all: config and config-user; system: config only; user: config-user only.', {
                    enum: ['all', 'system', 'user'],
                  }),
                  before: { type: 'integer', description: 'Only compat levels below this (0 = no bound).', minimum: 0 },
                  after: { type: 'integer', description: 'Only compat levels above this.', minimum: 0 },
                  content: str('Config lines (template).', { template: 'always' }),
                },
              }),
            },
          },
        },
        incus: {
          type: 'object',
          description: 'Incus settings.',
          properties: {
            vm: {
              type: 'object',
              description: 'Virtual machine disk.',
              properties: {
                size: { type: 'integer', description: 'Disk size in bytes (default 4 GiB).', minimum: 1 },
                filesystem: str('Root filesystem.', { enum: ['ext4', 'btrfs'] }),
              },
            },
          },
        },
        type: str('Internal: container or vm (set by kiln; readable by templates).', { enum: ['container', 'vm'] }),
      },
    },
    files: {
      type: 'array',
      description: 'Generators run against the root filesystem, in order.',
      items: withFilters({
        type: 'object',
        description: 'One generator entry.',
        required: ['generator'],
        properties: {
          generator: str('Generator.', { enum: GENERATORS }),
          path: str('Path in the image (template when pongo is true).', { template: 'pongo' }),
          content: str('Content (template when pongo is true).', { template: 'pongo' }),
          name: str('Template name (template generator) or cloud-init file (cloud-init generator).'),
          template: {
            type: 'object',
            description: 'Incus template settings.',
            properties: {
              properties: { type: 'map', description: 'Template properties.', values: str('Value.') },
              when: strList('When Incus renders the template (create, copy, start, ...).'),
            },
          },
          templated: bool('LXC: list the file in the templates file (LXC_NAME substitution).'),
          mode: str('Octal permissions such as 0644.', {
            pattern: { regex: '^0?[0-7]{3,4}$', hint: 'octal permissions such as 0644' },
          }),
          uid: str('Numeric owner.', { pattern: { regex: '^[0-9]+$', hint: 'a numeric user id' } }),
          gid: str('Numeric group.', { pattern: { regex: '^[0-9]+$', hint: 'a numeric group id' } }),
          pongo: bool('Render path, content and source as templates.'),
          source: str('copy: host path or glob (template when pongo is true).', { template: 'pongo' }),
        },
      }),
    },
    packages: {
      type: 'object',
      description: 'Package manager, sets and repositories.',
      properties: {
        manager: str('Package manager.', { enum: MANAGERS }),
        custom_manager: {
          type: 'object',
          description: 'A package manager described by its commands.',
          required: ['clean', 'install', 'remove', 'refresh', 'update'],
          properties: {
            clean: managerCommand,
            install: managerCommand,
            remove: managerCommand,
            refresh: managerCommand,
            update: managerCommand,
            flags: strList("Flags placed before every command's own flags."),
          },
        },
        update: bool('Upgrade all packages (then run post-update actions).'),
        cleanup: bool('Clean the package cache at the end.'),
        sets: {
          type: 'array',
          description: 'Packages to install or remove, in order.',
          items: withFilters({
            type: 'object',
            description: 'A package set.',
            required: ['packages', 'action'],
            properties: {
              packages: {
                type: 'array',
                description: 'Package names.',
                items: str('Package.', { nonBlank: true }),
                minItems: 1,
              },
              action: str('install or remove.', { enum: ['install', 'remove'] }),
              early: bool('Hand the set to the bootstrapper (debootstrap, rpmbootstrap).'),
              flags: strList("Extra flags for this set's command."),
            },
          }),
        },
        repositories: {
          type: 'array',
          description: 'Package repositories, written before post-unpack actions.',
          items: withFilters({
            type: 'object',
            description: 'A repository.',
            required: ['name', 'url'],
            properties: {
              name: str('Repository name (apt: sources.list or a file name).', { nonBlank: true }),
              url: str('Repository line(s) or .repo content (template).', { template: 'always' }),
              type: str('Manager-specific repository type.'),
              key: str('Armored key or key id (template).', { template: 'always' }),
            },
          }),
        },
      },
    },
    actions: {
      type: 'array',
      description: 'Scripts run inside the image at a trigger.',
      items: withFilters({
        type: 'object',
        description: 'An action.',
        required: ['trigger', 'action'],
        properties: {
          trigger: str('When the script runs.', { enum: TRIGGERS }),
          action: str('Script text starting with a shebang (template when pongo is true).', { template: 'pongo' }),
          pongo: bool('Render the script as a template first.'),
          timeout: { type: 'integer', description: 'kiln: seconds before the action is killed.', minimum: 1 },
        },
      }),
    },
    mappings: {
      type: 'object',
      description: 'Architecture name mapping.',
      properties: {
        architecture_map: str('Preset architecture table.', {
          enum: ARCHITECTURE_MAP_NAMES,
          enumNotes: {
            almalinux:
              'almalinux has no table in distrobuilder either (it fails there when resolving); AlmaLinux uses kernel names, so omit the map',
          },
        }),
        architectures: {
          type: 'map',
          description: 'image.architecture as typed -> distribution name.',
          values: str('Mapped name.'),
        },
      },
    },
    environment: {
      type: 'object',
      description: 'Environment of commands run inside the image.',
      properties: {
        clear_defaults: bool('Drop the default PATH, SHELL, TERM and DEBIAN_FRONTEND.'),
        variables: {
          type: 'array',
          description: 'Variables.',
          items: withFilters({
            type: 'object',
            description: 'A variable.',
            required: ['key', 'value'],
            properties: {
              key: str('Name.', {
                nonBlank: true,
                pattern: { regex: '^[A-Za-z_][A-Za-z0-9_]*$', hint: 'a variable name (letters, digits, _)' },
              }),
              value: str('Value.'),
            },
          }),
        },
      },
    },
    runtime: {
      type: 'object',
      description:
        'kiln extension: the containers build steps run in. Every step is bounded by default (memory: half the RAM up to 4G, 4096 pids, 1G each for /tmp and /run, no user namespaces); raise what a build needs.',
      properties: {
        memory: str('Memory of each step (its tmpfs pages included), e.g. 8G.', { pattern: SIZE_PATTERN }),
        pids: { type: 'integer', description: 'Tasks (processes and threads) of each step.', minimum: 1 },
        tmpfs: str('size= of each of the /tmp and /run tmpfs mounts of a step, e.g. 4G.', { pattern: SIZE_PATTERN }),
        user_namespaces: bool('Let steps create user namespaces (unshare -U, rootless container tools).'),
      },
    },
  },
};
