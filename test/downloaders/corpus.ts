/**
 * What every corpus test shares: the lxc-ci corpus and its matrix.json, the
 * amd64 combinations lxc-ci would build, and the source stage run the way
 * `kiln build` runs it.
 */
import { afterAll, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefinition } from '../../src/definition/index.js';
import { makePlan } from '../../src/plan/index.js';
import { fetchSource } from '../../src/source/index.js';
import type { SourceRecord } from '../../src/source/types.js';
import { KilnError } from '../../src/util/errors.js';
import { MemorySink } from '../../src/util/events.js';

export const CORPUS = fileURLToPath(new URL('../corpus/lxc-ci', import.meta.url));

export interface MatrixEntry {
  architectures: string[];
  releases: string[];
  variants: string[];
  same_as_edge: boolean;
}
export const matrix = JSON.parse(readFileSync(path.join(CORPUS, 'matrix.json'), 'utf8')) as Record<string, MatrixEntry>;

export interface Combination {
  release: string;
  variant: string;
  overrides: string[];
}

/** lxc-ci's `-o image.release=R -o image.variant=V -o image.architecture=amd64` (plus `source.same_as` for Alpine edge). */
export function combinations(name: string): Combination[] {
  const m = matrix[name]!;
  const numbered = m.releases.filter((r) => r !== 'edge');
  const out: Combination[] = [];
  for (const release of m.releases) {
    for (const variant of m.variants) {
      if (!m.architectures.includes('amd64')) continue;
      const overrides = [`image.release=${release}`, `image.variant=${variant}`, 'image.architecture=amd64'];
      if (release === 'edge' && m.same_as_edge) overrides.push(`source.same_as=${numbered.at(-1)}`);
      out.push({ release, variant, overrides });
    }
  }
  return out;
}

export type SourceStage = (
  definition: string,
  overrides: string[],
  check: (root: string, record: SourceRecord) => Promise<void>,
) => Promise<void>;

/** A work dir and download cache for the calling test file, and its source stage runner. */
export function corpusSourceStage(): SourceStage {
  let work: string;
  let cache: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-dl-corpus-'));
    cache = path.join(work, 'cache');
    await mkdir(cache);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** loadDefinition + makePlan + fetchSource into a fresh root, as `kiln build` does. */
  return async (definition, overrides, check) => {
    const loaded = await loadDefinition(path.join(CORPUS, 'images', definition), { overrides });
    const plan = makePlan(loaded, { targets: ['lxc'] });
    const base = await mkdtemp(path.join(work, 'build-'));
    const rootfs = path.join(base, 'rootfs');
    const workDir = path.join(base, 'work');
    await Promise.all([mkdir(rootfs), mkdir(workDir)]);
    try {
      const record = await fetchSource({
        definition: plan.definition,
        step: plan.source,
        rootfs,
        cacheDir: cache,
        workDir,
        sink: new MemorySink(),
      }).catch((e: unknown) => {
        // A failing tool's last lines belong in the test's failure message.
        if (e instanceof KilnError && e.details.length) e.message += `\n${e.details.join('\n')}`;
        throw e;
      });
      await check(rootfs, record);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  };
}
