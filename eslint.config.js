import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_ACTIONS = {
  group: ['**/actions/**'],
  message: 'front ends are thin: the core and the CLI import nothing from src/actions/',
};
const NO_RUNNER = {
  group: ['@actions/*'],
  message: 'only src/actions/ talks to the runner; the core takes a Logger and returns data',
};
const NO_CLI = { group: ['**/cli/**'], message: 'nothing imports the CLI front end' };

export default tseslint.config(
  {
    ignores: [
      'actions/*/dist/**',
      'cli/dist/**',
      'tmp/**',
      'node_modules/**',
      'coverage/**',
      '.tools/**',
      '.lab/**',
      'module/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Layering (issue #10): the core (src/<capability>, src/ssh, src/kube, src/lib, ...) and the CLI
  // never import an action's front end, only actions talk to the runner (@actions/*), and nothing
  // imports the CLI. test/unit/layering.test.ts checks the same on the transitive import graph.
  // (One block per file set: a later no-restricted-imports for the same file replaces an earlier one.)
  {
    files: ['src/**/*.ts'],
    ignores: ['src/actions/**', 'src/cli/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ACTIONS, NO_RUNNER, NO_CLI] }] },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ACTIONS, NO_RUNNER] }] },
  },
  {
    files: ['src/actions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_CLI] }] },
  },
);
