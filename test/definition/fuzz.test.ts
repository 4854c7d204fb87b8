import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDefinitionText } from '../../src/definition/index.js';
import { makePlan } from '../../src/plan/index.js';
import { DefinitionError, KilnError } from '../../src/util/errors.js';

const IMAGES = fileURLToPath(new URL('../corpus/lxc-ci/images/', import.meta.url));
const corpus = readdirSync(IMAGES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(path.join(IMAGES, f), 'utf8') }));

/** mulberry32: a small seeded generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  ':',
  ': ',
  '- ',
  '-',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '|',
  '|-',
  '>',
  '&a',
  '*a',
  '!!int ',
  '%',
  '#',
  '\t',
  '  ',
  '\n',
  '{{',
  '}}',
  '{%',
  '%}',
  '{% if %}',
  '{{ image.release|capfirst }}',
  '~',
  'null',
  'true',
  '0x1F',
  '3.20',
  '<<: *a',
  '? ',
  ',',
  '\\',
  '\u0000',
  'é',
];
const KEYS = [
  'image.release',
  'image.architecture',
  'image.variant',
  'source.same_as',
  'packages.sets.0.action',
  'packages.sets.99.action',
  'actions.0.trigger',
  'targets.incus.vm.size',
  'files[1].generator',
  'image',
  'source.keys',
  'mappings.architectures.x86_64',
  'a..b',
  '',
];
const VALUES = [
  '',
  'amd64',
  'edge',
  'x=y,z',
  'true',
  'nope',
  '-1',
  '{{ image.release }}',
  '{% if %}',
  'container',
  '99999999999999999999',
];

function mutate(text: string, next: () => number): { text: string; overrides: string[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  let lines = text.split('\n');
  const overrides: string[] = [];
  const n = 1 + Math.floor(next() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(next() * lines.length);
    switch (Math.floor(next() * 8)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 2: {
        const j = Math.floor(next() * lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        break;
      }
      case 3: {
        const l = lines[i] ?? '';
        const at = Math.floor(next() * (l.length + 1));
        lines[i] = l.slice(0, at) + pick(TOKENS) + l.slice(at);
        break;
      }
      case 4:
        lines[i] = (next() < 0.5 ? ' ' : '') + (lines[i] ?? '').replace(/^ {1,2}/, next() < 0.5 ? '' : '    ');
        break;
      case 5:
        lines[i] = (lines[i] ?? '').replace(/: .*$/, `: ${pick(TOKENS)}${pick(VALUES)}`);
        break;
      case 6:
        lines = lines.slice(0, i);
        break;
      default:
        overrides.push(`${pick(KEYS)}=${pick(VALUES)}`);
    }
  }
  return { text: lines.join('\n'), overrides };
}

describe('random mutations of the corpus', () => {
  it('never crash the validator or the planner: 500 mutations end in success or a DefinitionError, each quickly', () => {
    const next = rng(0x6b696c6e);
    const outcomes = { valid: 0, invalid: 0 };
    let slowest = 0;
    for (let i = 0; i < 500; i++) {
      const base = corpus[i % corpus.length]!;
      const m = mutate(base.text, next);
      const started = performance.now();
      try {
        const loaded = loadDefinitionText(m.text, base.name, {
          overrides: ['image.release=3.22', ...m.overrides],
          strictTemplates: i % 2 === 0,
        });
        makePlan(loaded, { targets: ['lxc', 'incus'] });
        outcomes.valid++;
      } catch (e) {
        if (!(e instanceof KilnError))
          throw new Error(
            `mutation ${i} of ${base.name} crashed: ${(e as Error).stack}\n--- overrides ${JSON.stringify(m.overrides)}\n--- text\n${m.text}`,
          );
        if (e instanceof DefinitionError) {
          expect(e.diagnostics.length).toBeGreaterThan(0);
          for (const d of e.diagnostics) {
            expect(d.line).toBeGreaterThanOrEqual(1);
            expect(d.col).toBeGreaterThanOrEqual(1);
            expect(d.message).not.toContain('\n');
          }
        }
        outcomes.invalid++;
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    // Both outcomes occur, so the mutations are neither all fatal nor all harmless.
    expect(outcomes.valid).toBeGreaterThan(20);
    expect(outcomes.invalid).toBeGreaterThan(100);
    expect(slowest).toBeLessThan(5000);
  });

  it('cap alias expansion instead of building billions of values', () => {
    const lines = [
      'a0: &a0 [1,1,1,1,1,1,1,1,1,1]',
      ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(',')}]`),
    ];
    const text = `image:\n  distribution: x\nsource:\n  downloader: busybox\n${lines.join('\n')}\n`;
    const started = performance.now();
    try {
      loadDefinitionText(text, 'bomb.yaml');
      expect.unreachable();
    } catch (e) {
      expect((e as DefinitionError).message).toContain('aliases repeated too often');
    }
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
