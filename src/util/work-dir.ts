import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { detachMountsUnder } from './mounts.js';

/** Written into every work dir: `PID STARTTIME` of the kiln that owns it. */
export const OWNER_FILE = '.kiln-owner';

/**
 * A process's start time (field 22 of /proc/PID/stat, in clock ticks since
 * boot), or undefined when it is gone. With the pid it names one process:
 * a recycled pid has another start time.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerRecord(): string {
  return `${process.pid} ${processStartTime(process.pid) ?? '0'}\n`;
}

/** `mkdtemp(parent/prefix)` with this process recorded as its owner. */
export async function makeOwnedWorkDir(parent: string, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(parent, prefix));
  await writeFile(path.join(dir, OWNER_FILE), ownerRecord());
  return dir;
}

/** True when the dir's owner is known and no longer running. */
async function ownerIsGone(dir: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path.join(dir, OWNER_FILE), 'utf8');
  } catch {
    // No record (being created right now, or made by another tool): keep it.
    return false;
  }
  const [pid, start] = text.trim().split(' ');
  if (!pid || !/^\d+$/.test(pid)) return false;
  return processStartTime(Number(pid)) !== start;
}

/**
 * Removes the `prefix*` dirs in `parent` whose owning kiln died (kill -9,
 * OOM, power loss) before it could remove them itself: what a host tool
 * left mounted inside is detached first, so the removal never walks into
 * proc or sysfs. Returns the removed dirs.
 */
export async function sweepStaleWorkDirs(parent: string, prefix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = path.join(parent, name);
    if (!(await ownerIsGone(dir))) continue;
    await detachMountsUnder(dir);
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
