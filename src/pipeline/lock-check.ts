import { LockError, lockKey, type LockedPackage } from '../plan/lock.js';
import type { PlanLock } from '../plan/lock-pins.js';
import { readInstalledPackages } from '../pack/sbom.js';
import type { SourceRecord } from '../source/types.js';
import { log, type EventSink } from '../util/events.js';

/** How many differences a message names before it says "and N more". */
const SHOWN = 12;

function listed(items: string[]): string {
  const more = items.length > SHOWN ? `, and ${items.length - SHOWN} more` : '';
  return items.slice(0, SHOWN).join(', ') + more;
}

/**
 * Versions in the root that the lock pins otherwise. After the source stage
 * only packages in both count (the build may still remove some); after
 * customization the installed set must be the locked one exactly.
 */
export function lockDifferences(
  installed: LockedPackage[],
  locked: LockedPackage[],
  exact: boolean,
): { changed: string[]; missing: string[]; extra: string[] } {
  const want = new Map(locked.map((p) => [lockKey(p), p.version]));
  const have = new Map(installed.map((p) => [lockKey(p), p.version]));
  const changed: string[] = [];
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [key, version] of have) {
    const pinned = want.get(key);
    if (pinned === undefined) {
      if (exact) extra.push(`${key} ${version}`);
    } else if (pinned !== version) changed.push(`${key} ${pinned} (got ${version})`);
  }
  if (exact) for (const [key, version] of want) if (!have.has(key)) missing.push(`${key} ${version}`);
  return { changed, missing, extra };
}

async function installed(rootfs: string, distribution: string, sink: EventSink, signal?: AbortSignal) {
  return (await readInstalledPackages(rootfs, distribution, sink, signal)).packages;
}

/**
 * After the source stage, the upstream files: when the lock pins no package
 * they are all there is to hold on to, and a changed one means another root.
 * Package versions are not compared yet: the bootstrap installs the
 * release's versions and the build's upgrade moves them to the locked ones.
 */
export function checkSourceAgainstLock(lock: PlanLock, source: SourceRecord, sink: EventSink): void {
  const locked = new Map(lock.inputs.map((i) => [i.url, i.sha256]));
  const moved = source.inputs.filter((i) => locked.has(i.url) && locked.get(i.url) !== i.sha256).map((i) => i.url);
  if (moved.length === 0) return;
  if (lock.packages.length === 0)
    throw new LockError(
      `upstream files changed since ${lock.file} was written: ${listed(moved)}; nothing was published`,
    );
  log(sink, 'info', `upstream indexes changed since the lock (${listed(moved)}); the package versions decide`);
}

/** After customization: the image holds exactly the locked packages, at the locked versions. */
export async function checkImageAgainstLock(
  lock: PlanLock,
  rootfs: string,
  distribution: string,
  sink: EventSink,
  signal?: AbortSignal,
): Promise<void> {
  const d = lockDifferences(await installed(rootfs, distribution, sink, signal), lock.packages, true);
  // apt ignores a pin to a version no repository offers: a version that
  // stayed different is one the mirror no longer carries.
  const parts = [
    d.changed.length ? `the mirror no longer carries the locked versions of ${listed(d.changed)}` : '',
    d.missing.length ? `not installed: ${listed(d.missing)}` : '',
    d.extra.length ? `not in the lock: ${listed(d.extra)}` : '',
  ].filter(Boolean);
  if (parts.length)
    throw new LockError(`the image's packages differ from ${lock.file}: ${parts.join('; ')}; nothing was published`);
}
