// Native ESM Jest with swc (type stripping only; `npm run typecheck` runs tsc).
// The @actions/* packages are ESM-only, so CommonJS mode cannot load them.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  // Source files import siblings as './x.js' (NodeNext); map back to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Lab state (etcd data, *.snap files) and scratch space are not part of the test tree.
  modulePathIgnorePatterns: ['<rootDir>/.lab/', '<rootDir>/tmp/', '<rootDir>/.tools/'],
  watchPathIgnorePatterns: ['<rootDir>/.lab/', '<rootDir>/tmp/'],
  clearMocks: true,
};
