// ESLint for kiln: typescript-eslint's type-aware rules over src, test and
// bench; formatting is Prettier's job (eslint-config-prettier turns off the
// rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export const STAGE_ORDER = [
  'util',
  'definition',
  'plan',
  'runtime',
  'source',
  'customize',
  'pack',
  'publish',
  'pipeline',
  'serve',
  'mirror',
  'catalog',
  'cli',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'out/', 'native/', 'schema/', 'test/corpus/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // `_name` marks a binding kept on purpose (a destructured field left out, an
      // interface's parameter this implementation does not need).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // An async function with no await still has an async contract: what it
      // throws becomes a rejection, which callers of Promise-typed hooks rely on.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read JSON documents (indexes, reports) and use vitest's asymmetric
    // matchers, both typed `any` by their libraries; the checks are the assertions.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  // Stage boundaries: data flows definition -> plan -> stages -> artifacts ->
  // tree, so a folder of src/ imports only the folders before it (and util).
  // Type-only imports are free: a contract type (build.json's record) may be
  // named by the stage that writes it and the one that reads it. The plan
  // reads the package-manager registry, the one list of managers.
  ...stageBoundaries(STAGE_ORDER),
  prettier,
);

/** One no-restricted-imports block a stage: every later stage is off limits (test/plan/stage-boundaries.test.ts). */
export function stageBoundaries(order) {
  const allowed = { plan: { customize: 'managers/' } };
  return order.map((stage, i) => ({
    files: [`src/${stage}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: order.slice(i + 1).map((later) => {
            const except = allowed[stage]?.[later];
            return {
              regex: `^(\\.\\./)+${later}/${except ? `(?!${except})` : ''}`,
              allowTypeImports: true,
              message: `src/${stage} is an earlier stage than src/${later} and must not import it (stage order: ${order.join(' -> ')})`,
            };
          }),
        },
      ],
    },
  }));
}
