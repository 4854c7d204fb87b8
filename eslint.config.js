// ESLint for kiln: typescript-eslint's type-aware rules over src, test and
// bench; formatting is Prettier's job (eslint-config-prettier turns off the
// rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

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
  prettier,
);
