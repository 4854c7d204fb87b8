import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDefinition } from '../../src/definition/index.js';
import { makePlan } from '../../src/plan/index.js';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/lxc-ci/', import.meta.url));

interface MatrixEntry {
  architectures: string[];
  releases: string[];
  variants: string[];
  same_as_edge: boolean;
}

const matrix = JSON.parse(readFileSync(path.join(CORPUS, 'matrix.json'), 'utf8')) as Record<string, MatrixEntry>;

/** The -o overrides lxc-ci passes for one combination (edge builds from the newest numbered release). */
function overridesFor(e: MatrixEntry, release: string, arch: string, variant: string): string[] {
  const o = [`image.release=${release}`, `image.architecture=${arch}`, `image.variant=${variant}`];
  if (e.same_as_edge && release === 'edge') o.push(`source.same_as=${e.releases.filter((r) => r !== 'edge').at(-1)}`);
  return o;
}

describe('the lxc-ci corpus', () => {
  for (const [name, entry] of Object.entries(matrix)) {
    const combos = entry.releases.flatMap((r) => entry.architectures.flatMap((a) => entry.variants.map((v) => [r, a, v] as const)));
    it(`${name}.yaml validates and plans for all ${combos.length} combinations of matrix.json`, async () => {
      const failures: string[] = [];
      for (const [r, a, v] of combos) {
        const overrides = overridesFor(entry, r, a, v);
        try {
          const loaded = await loadDefinition(path.join(CORPUS, 'images', `${name}.yaml`), { overrides });
          const plan = makePlan(loaded, { targets: ['lxc', 'incus'] });
          expect(plan.definition.image.release).toBe(r);
          expect(plan.definition.image.variant).toBe(v);
          expect(plan.lxc?.configFiles.config).toBeDefined();
          // The plan is plain data: the build record and `kiln plan --json` serialise it.
          expect(JSON.parse(JSON.stringify(plan)).steps.length).toBe(plan.steps.length);
        } catch (e) {
          failures.push(`${overrides.join(' ')}: ${(e as Error).message}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
