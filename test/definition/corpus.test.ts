import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import planCommand from '../../src/cli/commands/plan.js';
import { loadDefinition } from '../../src/definition/index.js';
import { makePlan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { nullSink } from '../../src/util/events.js';

const CORPUS = fileURLToPath(new URL('../corpus/lxc-ci/', import.meta.url));

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

/** `kiln plan FILE -o ... --json`, run in-process (124 node start-ups would take a minute). */
async function kilnPlanJson(file: string, overrides: string[]): Promise<{ code: number; plan: Plan }> {
  let out = '';
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const argv = [file, ...overrides.flatMap((o) => ['-o', o]), '--json'];
  const code = await planCommand.run({ argv, sink: nullSink, json: true, stdout, stderr: stdout });
  return { code, plan: JSON.parse(out) as Plan };
}

describe('the lxc-ci corpus', () => {
  for (const [name, entry] of Object.entries(matrix)) {
    const combos = entry.releases.flatMap((r) =>
      entry.architectures.flatMap((a) => entry.variants.map((v) => [r, a, v] as const)),
    );
    it(`${name}.yaml validates and plans for all ${combos.length} combinations of matrix.json`, async () => {
      const failures: string[] = [];
      for (const [r, a, v] of combos) {
        const overrides = overridesFor(entry, r, a, v);
        try {
          const file = path.join(CORPUS, 'images', `${name}.yaml`);
          const loaded = await loadDefinition(file, { overrides });
          const plan = makePlan(loaded, { targets: ['lxc', 'incus'] });
          expect(plan.definition.image.release).toBe(r);
          expect(plan.definition.image.variant).toBe(v);
          expect(plan.lxc?.configFiles.config).toBeDefined();
          const cli = await kilnPlanJson(file, overrides);
          expect(cli.code).toBe(0);
          expect(cli.plan.steps.map((s) => s.name)).toEqual(plan.steps.map((s) => s.name));
          expect(cli.plan.source).toEqual(plan.source);
        } catch (e) {
          failures.push(`${overrides.join(' ')}: ${(e as Error).message}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
