/**
 * The contract between kiln and its container runtime (native/kiln-run).
 * A RunSpec describes one step: what to run, inside which root, with what
 * isolation and limits. The runtime returns how it ended.
 */

import type { Emulator } from './emulation.js';

export interface BindMount {
  /** Host path. */
  source: string;
  /** Path inside the container. */
  target: string;
  /** Read-only unless true. */
  readWrite?: boolean;
}

/** Each field left out gets its default (`defaultLimits()` in default-limits.ts). */
export interface ResourceLimits {
  memoryBytes?: number;
  pids?: number;
  /** CPU quota in cores, e.g. 1.5 (no default). */
  cpus?: number;
  /** `size=` of each of the /tmp and /run tmpfs mounts. */
  tmpfsBytes?: number;
}

export interface UserNamespace {
  /** `inside outside count` lines, e.g. `0 100000 65536`. */
  uidMap: string[];
  gidMap: string[];
}

export interface RunSpec {
  rootfs: string;
  /** Command and arguments, resolved inside the container. Exactly one of argv/script. */
  argv?: string[];
  /** A script run through its shebang inside the container (as distrobuilder's actions). */
  script?: string;
  /** The whole environment of the step: nothing from the host leaks in. */
  env?: Record<string, string>;
  /** Working directory inside the container, default `/`. */
  cwd?: string;
  /** Default `kiln`. */
  hostname?: string;
  /** `host` shares the host's network (package mirrors); `none` gives only `lo`. Default `none`. */
  network?: 'host' | 'none';
  /**
   * Run on an overlay: the rootfs is the lower layer and `upperDir` (created
   * if missing) receives the changes; the rootfs itself is untouched.
   */
  overlay?: { upperDir: string };
  binds?: BindMount[];
  limits?: ResourceLimits;
  /** Kill the whole process tree after this many milliseconds. */
  timeoutMs?: number;
  userns?: UserNamespace;
  /** Called with each chunk of the step's output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Aborting kills the step (the tree, its mounts and cgroup go away). */
  signal?: AbortSignal | undefined;
  /**
   * Capabilities kept on top of the default set (lower-case names without
   * `cap_`, e.g. `sys_admin` for a step that must mount), or `all`.
   */
  capabilities?: string[];
  /**
   * Let the step create user namespaces (`unshare -U`, rootless container
   * tools). Denied by default: a new user namespace gives the step a full
   * capability set over fresh namespaces, kernel attack surface.
   */
  allowUserNamespaces?: boolean;
  /**
   * Run a root of a foreign architecture: kiln-run registers this qemu-user
   * interpreter in a binfmt_misc instance of the container's own user
   * namespace (one mapping every id to itself unless `userns` is given).
   */
  emulator?: Emulator | undefined;
  /** The step's stdin: `null` (default, /dev/null) or kiln's own stdin. */
  stdin?: 'null' | 'inherit';
  /**
   * While the step runs, SIGINT, SIGHUP and SIGQUIT sent to kiln go to the
   * step (a second SIGINT kills it) and SIGTERM kills it. For `kiln run`.
   */
  forwardSignals?: boolean;
}

export type RunEnd =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'signaled'; signal: string }
  | { kind: 'timeout' }
  | { kind: 'oom' }
  | { kind: 'aborted' };

export interface RunResult {
  end: RunEnd;
  /** 0 for success, the exit code, or 128+signal / 124 (timeout) / 137 (oom) like a shell. */
  exitCode: number;
  /** The last lines of stdout and stderr, interleaved as received (for error messages). */
  tail: string[];
  durationMs: number;
  /** Things the runtime could not do but that did not stop the step (e.g. no resolv.conf). */
  warnings?: string[];
}
