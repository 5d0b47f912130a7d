// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const ADAPTER_DIRS = ['**/stores/sqlite/**', '**/transports/http/**', '**/server/**', '**/cli/**']

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tmp/**',
      '.tmp-readme-*/**',
      'bench/results.json',
    ],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.strict,
  ...tseslint.configs.stylistic,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        structuredClone: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        URL: 'readonly',
        Request: 'readonly',
        Response: 'readonly',
        Headers: 'readonly',
        fetch: 'readonly',
        ReadableStream: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
        crypto: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The core runs in browsers and workers: it never imports an adapter or a Node built-in.
    // stores/indexeddb is an adapter that runs in browsers too, so this rule applies to it.
    files: ['src/**/*.ts'],
    ignores: [...ADAPTER_DIRS, '**/*.test.ts', '**/*.int.test.ts', '**/*.test-d.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The core runs in browsers: no Node built-ins.' },
            {
              group: [
                '**/stores/sqlite/**',
                '**/stores/indexeddb/**',
                '**/transports/http/**',
                '**/server/**',
                '**/cli/**',
              ],
              message: 'Core never imports an adapter.',
            },
            {
              group: ['better-sqlite3', 'valibot', 'eventsource-parser', 'pg'],
              message: 'The core has no runtime dependencies.',
            },
          ],
        },
      ],
    },
  },
)
