import { describe, expect, it } from 'vitest';
import { loadDefinitionText } from '../../src/definition/index.js';
import { DefinitionError, formatDiagnostic } from '../../src/util/errors.js';
import { BAD_CASES, BASE } from './bad-cases.js';

function diagnosticsOf(text: string, overrides: string[] = [], strictTemplates = false): string[] {
  try {
    loadDefinitionText(text, 'bad.yaml', { overrides, strictTemplates });
  } catch (e) {
    if (e instanceof DefinitionError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  return [];
}

describe('bad definitions', () => {
  it('the base of every case is itself valid', () => {
    expect(diagnosticsOf(BASE)).toEqual([]);
  });

  it('the table has at least 40 cases', () => {
    expect(BAD_CASES.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of BAD_CASES) {
    it(`reports ${c.name} at its exact line and column`, () => {
      expect(diagnosticsOf(c.text, c.overrides, c.strictTemplates)).toEqual(c.expected);
    });
  }

  it('a DefinitionError message is every diagnostic, one per line', () => {
    const c = BAD_CASES.find((x) => x.expected.length === 3)!;
    try {
      loadDefinitionText(c.text, 'bad.yaml');
      expect.unreachable();
    } catch (e) {
      expect((e as DefinitionError).message.split('\n')).toEqual(c.expected);
      expect((e as DefinitionError).exitCode).toBe(1);
    }
  });
});
