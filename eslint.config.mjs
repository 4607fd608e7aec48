import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // src/wasm is AssemblyScript (compiled by asc, not tsc).
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'test-results/**', '.cache/**', 'examples/**', 'src/wasm/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "AssignmentExpression[left.property.name='innerHTML']",
        message: 'Never assign innerHTML: untrusted data stays data.',
      }],
    },
  },
  {
    files: ['src/tensor/**/*.ts', 'src/kernel/**/*.ts', 'src/hover/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['vscode'], message: 'Pure code must not import vscode.' },
          { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'zlib', 'buffer'], message: 'Pure code must run in a browser too.' },
        ],
      }],
    },
  },
  {
    files: ['**/*.mjs', 'test/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
