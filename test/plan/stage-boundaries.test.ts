import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/kiln.js';

/**
 * Data flows definition -> plan -> stages -> artifacts -> tree: a folder of
 * src/ imports only the folders before it. The rule lives in
 * eslint.config.js; this runs just that rule over src/ (no type
 * information needed, so it takes a second) and shows that it bites.
 */
interface StageRules {
  STAGE_ORDER: string[];
  stageBoundaries(order: string[]): Linter.Config[];
}
const rules = (await import(pathToFileURL(path.join(ROOT, 'eslint.config.js')).href)) as StageRules;

const RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { '@typescript-eslint': tseslint.plugin },
    },
    ...rules.stageBoundaries(rules.STAGE_ORDER),
  ],
});

async function problems(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('stage boundaries', () => {
  it('name every folder of src/', () => {
    expect([...rules.STAGE_ORDER].sort()).toEqual(readdirSync(path.join(ROOT, 'src')).sort());
  });

  it('hold over all of src/ today', async () => {
    const results = await eslint.lintFiles(['src/**/*.ts']);
    const broken = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === RULE).map((m) => `${path.relative(ROOT, r.filePath)}: ${m.message}`),
    );
    expect(broken).toEqual([]);
    expect(results.length).toBeGreaterThan(100);
  });

  it('refuse a downloader importing the customize stage', async () => {
    expect(
      await problems(
        "import { x } from '../../customize/index.js';\nexport const y = x;\n",
        'src/source/downloaders/probe.ts',
      ),
    ).toEqual([
      expect.stringMatching(
        /^'..\/..\/customize\/index.js' import is restricted.*src\/source is an earlier stage than src\/customize/,
      ),
    ]);
  });

  it('let a later stage import an earlier one, and any stage name a contract type', async () => {
    expect(
      await problems("import { x } from '../source/index.js';\nexport const y = x;\n", 'src/pipeline/probe.ts'),
    ).toEqual([]);
    expect(
      await problems(
        "import type { BuildRecord } from '../pipeline/record.js';\nexport type R = BuildRecord;\n",
        'src/pack/probe.ts',
      ),
    ).toEqual([]);
  });

  it('let the plan read the package-manager registry, and nothing else of customize', async () => {
    expect(
      await problems(
        "import { managerFor } from '../customize/managers/index.js';\nexport const m = managerFor;\n",
        'src/plan/probe.ts',
      ),
    ).toEqual([]);
    expect(
      await problems("import { x } from '../customize/file-ops.js';\nexport const y = x;\n", 'src/plan/probe.ts'),
    ).toHaveLength(1);
  });
});
