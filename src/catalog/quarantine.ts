import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** A catalog cell id (`dist:release:arch:variant`) as one file name. */
export function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

export interface QuarantineOptions {
  /** The quarantine root (`<tree>/.kiln/quarantine` for a catalog run). */
  root: string;
  cell: string;
  serial: string;
  /** The tested build's directory: artifacts, SHA256SUMS, build.json. */
  buildDir: string;
  /** Logs copied beside the build, by the name they get there. */
  logs: Record<string, string>;
}

/**
 * Keeps a build that failed its boot test where a person can look at it
 * (`<root>/<cell>/<serial>/`), never where a client would install it from.
 * A second failure of the same serial replaces the first.
 */
export async function quarantineBuild(opts: QuarantineOptions): Promise<string> {
  const q = path.join(opts.root, fileSafe(opts.cell), opts.serial.replace(/:/g, ''));
  await rm(q, { recursive: true, force: true });
  await mkdir(path.dirname(q), { recursive: true });
  await cp(opts.buildDir, q, { recursive: true });
  for (const [name, file] of Object.entries(opts.logs)) await cp(file, path.join(q, name));
  return q;
}
