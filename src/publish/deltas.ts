import { availableParallelism } from 'node:os';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import PQueue from 'p-queue';
import { log, type EventSink } from '../util/events.js';
import { findArtifact } from './artifacts.js';
import { writeFileAtomic } from './atomic-write.js';
import { sha256File } from './sha256.js';
import type { PublishedBuild } from './tree-scan.js';

/**
 * Squashfs deltas between consecutive serials of a product, as lxc-ci
 * publishes them: an LXD or Incus daemon holding the previous image
 * downloads `delta-<previous serial>.vcdiff` (xdelta3) instead of the whole
 * new squashfs. They are the tree's, not the build's: made under the tree
 * lock when the indexes are regenerated, recorded beside the build in a
 * hidden file (never served), and removed once their base left the tree.
 */
export interface Delta {
  /** Serial of the build the delta starts from. */
  base: string;
  name: string;
  sha256: string;
  size: number;
}

/** What is known of the delta from a base: made, or refused as too large. */
type DeltaState = Delta | { base: string; refused: string };

/** A delta is published only when it is at most this share of the full squashfs. */
export const DELTA_SHARE = 0.7;

const STATE_FILE = '.kiln-deltas.json';

export const deltaName = (base: string): string => `delta-${base}.vcdiff`;

async function readState(dir: string): Promise<DeltaState[]> {
  try {
    const data = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as unknown;
    return Array.isArray(data) ? (data as DeltaState[]) : [];
  } catch {
    return [];
  }
}

/** The deltas a build has on disk (for the streams). */
export async function readDeltas(dir: string): Promise<Delta[]> {
  return (await readState(dir)).filter((d): d is Delta => 'sha256' in d);
}

let xdeltaMissing: boolean | undefined;

async function haveXdelta3(): Promise<boolean> {
  if (xdeltaMissing === undefined) {
    const r = await execa('xdelta3', ['-V'], { reject: false, all: true });
    xdeltaMissing = r.failed && r.exitCode === undefined;
  }
  return !xdeltaMissing;
}

/**
 * Brings one product's deltas up to date (builds newest first): each build
 * gets a delta from the build before it when both have a squashfs, and
 * loses deltas from a base no longer in the list.
 */
async function productDeltas(builds: PublishedBuild[], share: number, sink: EventSink): Promise<void> {
  for (let i = 0; i < builds.length; i++) {
    const b = builds[i]!;
    const prev = builds[i + 1];
    const states = await readState(b.dir);
    const wantBase = prev && findArtifact(prev.record, 'squashfs') ? prev.record.serial : undefined;
    const squash = findArtifact(b.record, 'squashfs');
    const keep = states.filter((s) => s.base === wantBase);
    for (const gone of states.filter((s) => s.base !== wantBase)) {
      if ('sha256' in gone) {
        await rm(join(b.dir, gone.name), { force: true });
        log(sink, 'info', `${b.relDir}: removed ${gone.name}, its base left the tree`);
      }
    }
    if (wantBase && squash && prev && keep.length === 0) {
      const made = await makeDelta(prev, b, squash.name, share, sink);
      if (made) keep.push(made);
    }
    if (keep.length !== states.length || keep.some((k, j) => k !== states[j]))
      await writeFileAtomic(join(b.dir, STATE_FILE), `${JSON.stringify(keep, null, 2)}\n`);
  }
}

async function makeDelta(
  prev: PublishedBuild,
  b: PublishedBuild,
  squashName: string,
  share: number,
  sink: EventSink,
): Promise<DeltaState | undefined> {
  const base = prev.record.serial;
  const name = deltaName(base);
  const source = join(prev.dir, findArtifact(prev.record, 'squashfs')!.name);
  const target = join(b.dir, squashName);
  const tmp = join(b.dir, `.${name}.tmp`);
  try {
    await execa('xdelta3', ['-e', '-9', '-f', '-s', source, target, tmp]);
    const size = (await stat(tmp)).size;
    const full = (await stat(target)).size;
    if (size > full * share) {
      await rm(tmp, { force: true });
      const why = `${size} bytes, more than ${Math.round(share * 100)}% of the ${full}-byte squashfs`;
      log(sink, 'info', `${b.relDir}: no delta from ${base} (${why})`);
      return { base, refused: why };
    }
    const sha256 = await sha256File(tmp);
    await rename(tmp, join(b.dir, name));
    log(sink, 'info', `${b.relDir}: ${name}, ${size} bytes (${Math.round((size / full) * 100)}% of the squashfs)`);
    return { base, name, sha256, size };
  } catch (e) {
    await rm(tmp, { force: true });
    log(sink, 'warn', `${b.relDir}: cannot make a delta from ${base}: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Updates the deltas of every product, products in parallel (caller holds the tree lock). */
export async function updateDeltas(
  products: Map<string, PublishedBuild[]>,
  sink: EventSink,
  share: number = DELTA_SHARE,
): Promise<void> {
  if (!(await haveXdelta3())) {
    log(sink, 'warn', 'xdelta3 is not installed (Debian package xdelta3): no squashfs deltas are made');
    return;
  }
  const queue = new PQueue({ concurrency: Math.max(1, availableParallelism()) });
  // Mirrored builds keep upstream's deltas; kiln makes none of its own for them.
  const own = [...products.values()].map((builds) => builds.filter((b) => !b.record.mirror));
  await Promise.all(own.map((builds) => queue.add(() => productDeltas(builds, share, sink))));
}
