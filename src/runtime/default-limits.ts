import { totalmem } from 'node:os';
import type { ResourceLimits } from './types.js';

const GiB = 1024 ** 3;

/**
 * What every step gets unless its definition or `kiln run` raises it. A
 * step runs code from packages and definitions, so it is bounded by default:
 * memory (half the host's RAM, at most 4 GiB: apt, dpkg, rpm and
 * initramfs generators stay far below), 4096 tasks (threads count; a fork
 * bomb stops there) and 1 GiB for each of the /tmp and /run tmpfs mounts
 * (their pages also count against the memory limit). CPU is not limited: a
 * busy step slows the host down but cannot exhaust it.
 *
 * The root itself is a directory on the build's work dir: what a step
 * writes there is bounded by that file system's free space, not by a
 * quota (none is portable across ext4, xfs, btrfs and tmpfs work dirs).
 */
export function defaultLimits(): Required<Pick<ResourceLimits, 'memoryBytes' | 'pids' | 'tmpfsBytes'>> {
  return {
    memoryBytes: Math.min(4 * GiB, Math.floor(totalmem() / 2)),
    pids: 4096,
    tmpfsBytes: GiB,
  };
}

/** The caller's limits over the defaults: a field left out gets its default. */
export function withDefaultLimits(limits: ResourceLimits = {}): ResourceLimits {
  const defaults = defaultLimits();
  return {
    ...limits,
    memoryBytes: limits.memoryBytes ?? defaults.memoryBytes,
    pids: limits.pids ?? defaults.pids,
    tmpfsBytes: limits.tmpfsBytes ?? defaults.tmpfsBytes,
  };
}
