/**
 * The distribution definition, as distrobuilder's YAML schema describes it
 * (`image`, `source`, `targets`, `files`, `packages`, `actions`, `mappings`).
 * Field names are the YAML keys so that templates see the same context
 * distrobuilder gives them.
 */

export interface Filters {
  releases?: string[];
  architectures?: string[];
  variants?: string[];
  types?: Array<'container' | 'vm'>;
}

export interface ImageSection {
  distribution: string;
  release?: string;
  architecture?: string;
  description?: string;
  expiry?: string;
  variant?: string;
  name?: string;
  serial?: string;
  /** Computed by kiln; accepted in YAML but overwritten. */
  architecture_mapped?: string;
  architecture_kernel?: string;
  architecture_personality?: string;
}

export interface SourceSection {
  downloader: string;
  url?: string;
  keys?: string[];
  keyserver?: string;
  variant?: string;
  suite?: string;
  same_as?: string;
  skip_verification?: boolean;
  components?: string[];
  /** kiln extension: `sha256:HEX` or `sha512:HEX` for rootfs-http. */
  checksum?: string;
  /** kiln extension: bounds on the downloaded archive's expansion. */
  unpack?: { max_size?: string; max_entries?: number; max_ratio?: number; devices?: boolean };
}

export interface LxcConfigEntry extends Filters {
  type?: string;
  before?: number;
  after?: number;
  content?: string;
}

export interface TargetsSection {
  lxc?: {
    create_message?: string;
    config?: LxcConfigEntry[];
  };
  incus?: {
    vm?: { size?: number; filesystem?: string };
  };
  /** Internal: `container` or `vm`, readable by templates as `targets.type`. */
  type?: 'container' | 'vm';
}

export interface FileEntry extends Filters {
  generator: string;
  path?: string;
  content?: string;
  name?: string;
  template?: { properties?: Record<string, string>; when?: string[] };
  templated?: boolean;
  mode?: string;
  uid?: string;
  gid?: string;
  pongo?: boolean;
  source?: string;
}

export interface CustomManagerCommand {
  cmd: string;
  flags?: string[];
}

export interface CustomManager {
  clean: CustomManagerCommand;
  install: CustomManagerCommand;
  remove: CustomManagerCommand;
  refresh: CustomManagerCommand;
  update: CustomManagerCommand;
  flags?: string[];
}

export interface PackageSet extends Filters {
  packages: string[];
  action: 'install' | 'remove';
  early?: boolean;
  flags?: string[];
}

export interface Repository extends Filters {
  name: string;
  url: string;
  type?: string;
  key?: string;
}

export interface PackagesSection {
  manager?: string;
  custom_manager?: CustomManager;
  update?: boolean;
  cleanup?: boolean;
  sets?: PackageSet[];
  repositories?: Repository[];
}

export type Trigger = 'post-unpack' | 'post-update' | 'post-packages' | 'post-files';

export interface ActionEntry extends Filters {
  trigger: Trigger;
  action: string;
  pongo?: boolean;
  /** kiln extension: seconds before the action is killed. */
  timeout?: number;
}

export interface MappingsSection {
  architecture_map?: string;
  architectures?: Record<string, string>;
}

export interface EnvVariable extends Filters {
  key: string;
  value: string;
}

export interface EnvironmentSection {
  clear_defaults?: boolean;
  variables?: EnvVariable[];
}

/** kiln extension: limits of the containers build steps run in (sizes as parseSize reads them). */
export interface RuntimeSection {
  memory?: string;
  pids?: number;
  tmpfs?: string;
  user_namespaces?: boolean;
}

export interface Definition {
  image: ImageSection;
  source: SourceSection;
  targets?: TargetsSection;
  files?: FileEntry[];
  packages?: PackagesSection;
  actions?: ActionEntry[];
  mappings?: MappingsSection;
  environment?: EnvironmentSection;
  runtime?: RuntimeSection;
}

/** A definition after overrides, defaults and validation: the fields a build relies on are set. */
export interface ResolvedDefinition extends Definition {
  image: ImageSection & {
    release: string;
    architecture: string;
    architecture_mapped: string;
    architecture_kernel: string;
    architecture_personality: string;
    variant: string;
    serial: string;
    expiry: string;
    name: string;
    description: string;
  };
}

/** Where a definition came from, for error messages and the build record. */
export interface LoadedDefinition {
  file: string;
  /** sha256 of the file's bytes. */
  digest: string;
  definition: ResolvedDefinition;
  /** The `-o key=value` overrides applied, in order. */
  overrides?: string[];
  /** An undefined template variable is an error (`--strict-templates`); the plan renders with the same rule. */
  strictTemplates?: boolean;
}
