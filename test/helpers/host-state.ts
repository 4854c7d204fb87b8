import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Mount points of this process's mount namespace (the host's when tests run as root). */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4] as string)
    .sort();
}

/** Every directory under the cgroup hierarchies (v1 controllers and v2). */
export function cgroupTree(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 6) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e);
      try {
        if (statSync(p).isDirectory()) {
          out.push(p);
          walk(p, depth + 1);
        }
      } catch {
        /* raced with a removal */
      }
    }
  };
  walk('/sys/fs/cgroup', 0);
  return out.sort();
}

/** Temp directories kiln made (`kiln-*`) under a parent. */
export function kilnTempDirs(parent: string): string[] {
  try {
    return readdirSync(parent).filter((e) => e.startsWith('kiln-'));
  } catch {
    return [];
  }
}
