// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: Node built-ins are not available there.
const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

// The engine (src/) and the Meta emulator (emulator/) are two programs: the emulator judges the engine, so a rule
// it took from the engine could never catch the engine's mistake. Scripts and tests may use both.
const engineMustNotImportEmulator = {
  regex: '^(\\.\\./)+emulator(/|$)',
  message: 'src/ is the engine alone: it must not import the Meta emulator (emulator/).',
};
const emulatorMustNotImportEngine = {
  regex: '^(\\.\\./)+src(/|$)',
  message: 'The Meta emulator judges the engine independently: it must not import anything under src/.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: "Read settings through the program's config module only: src/config.ts (engine), emulator/config.ts (emulator).",
        },
      ],
    },
  },
  {
    files: ['src/config.ts', 'emulator/config.ts', 'scripts/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'faults/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [engineMustNotImportEmulator] }] },
  },
  {
    files: ['emulator/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [emulatorMustNotImportEngine] }] },
  },
  {
    // Replaces the src/** setting above for workflow files, so it repeats the boundary.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins.' })),
          patterns: [
            { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'Import activities as types only.' },
            engineMustNotImportEmulator,
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'faults/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // Tests read JSON answers loosely, field by field, and assert on them.
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Stub activities are async to match their contract without awaiting anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
