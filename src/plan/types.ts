import type { PlanLock } from './lock-pins.js';
import type {
  ActionEntry,
  FileEntry,
  Repository,
  ResolvedDefinition,
  SourceSection,
  Trigger,
} from '../definition/types.js';

/**
 * The resolved build: what `kiln plan` prints and exactly what `kiln build`
 * executes. Everything in it is already filtered (release, architecture,
 * variant, target type) and rendered.
 */
export type TargetKind = 'lxc' | 'incus';

/** The filter mask of a phase (definitions-spec section 1.10). */
export type TypeMask = { undefined: boolean; all: boolean; container: boolean; vm: boolean };

export interface SourceStep {
  kind: 'source';
  name: 'source';
  downloader: string;
  /** The source section with `url` and `keys` rendered. */
  source: SourceSection;
  /** Packages handed to the bootstrapper (`early: true` sets). */
  early: { install: string[]; remove: string[] };
}

export interface RepositoriesStep {
  kind: 'repositories';
  name: string;
  manager: string;
  repositories: Repository[];
}

export interface ActionStep {
  kind: 'action';
  name: string;
  trigger: Trigger;
  /** Rendered when the action has `pongo: true`. */
  script: string;
  timeoutSeconds?: number;
  entry: ActionEntry;
  /** Key path of the entry in the definition (`actions[3]`), for messages. */
  origin?: string;
}

export interface PackageCommandStep {
  kind: 'packages';
  name: string;
  phase: 'refresh' | 'update' | 'install' | 'remove' | 'clean';
  argv: string[];
  /** Key paths of the package sets merged into this command (`packages.sets[2]`, ...). */
  origin?: string[];
}

export interface GeneratorStep {
  kind: 'generator';
  name: string;
  generator: string;
  /** Rendered when the entry has `pongo: true`. */
  entry: FileEntry;
  /** Key path of the entry in the definition (`files[2]`), for messages. */
  origin?: string;
}

/** Steps kiln adds itself (policy-rc.d on/off, the LXC systemd generator, ...). */
export interface InternalStep {
  kind: 'internal';
  name: string;
  what: string;
}

export type CustomizeStep = RepositoriesStep | ActionStep | PackageCommandStep | GeneratorStep | InternalStep;

export interface LxcTargetPlan {
  createMessage: string;
  /** File name in meta.tar.xz (`config`, `config-user`, `config.2`, ...) to its content. */
  configFiles: Record<string, string>;
}

export interface Plan {
  definitionFile: string;
  definitionDigest: string;
  /** The resolved definition: templates and the build record read it. */
  definition: ResolvedDefinition;
  targets: TargetKind[];
  environment: Record<string, string>;
  source: SourceStep;
  steps: CustomizeStep[];
  lxc?: LxcTargetPlan;
  /** `--lock`: the versions the build must install, checked after the source and customize stages. */
  lock?: PlanLock;
}
