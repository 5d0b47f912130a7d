// @ts-check
import { readdirSync } from 'node:fs'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Adapters: every store but the memory store (the core's reference store), every transport, the CLI,
// found on disk so a new one is covered at once. test/boundaries.test.ts checks the same rules (and
// the layer order) by resolving every import; this rule is the editor's early warning.
const ADAPTERS = [
  ...['stores', 'transports'].flatMap((group) =>
    readdirSync(new URL(`./src/${group}/`, import.meta.url), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'memory')
      .map((entry) => `${group}/${entry.name}`),
  ),
  'cli',
]
const ADAPTER_DIRS = ADAPTERS.map((adapter) => `src/${adapter}/**`)
const importsOf = (adapters) => adapters.map((adapter) => `**/${adapter}/**`)
const ADAPTER_IMPORTS = importsOf(ADAPTERS)
const TESTS = ['**/*.test.ts', '**/*.int.test.ts', '**/*.test-d.ts']
// The entries that re-export the loopback adapter: the root entry (the plain hub) and
// sync-kit/testing (its test half, createTestHub).
const ENTRIES = ['src/index.ts', 'src/testing/index.ts']
const NO_NODE = { group: ['node:*'], message: 'The core runs in browsers: no Node built-ins.' }
const NO_DEPS = {
  group: ['better-sqlite3', 'valibot', 'eventsource-parser', 'pg', 'ws'],
  message: 'The core has no runtime dependencies.',
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tmp/**',
      'api/**',
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
    files: ['src/**/*.ts'],
    ignores: [...ADAPTER_DIRS, ...ENTRIES, ...TESTS],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_NODE,
            { group: ADAPTER_IMPORTS, message: 'Core never imports an adapter.' },
            NO_DEPS,
          ],
        },
      ],
    },
  },
  {
    // Browser adapters: no Node built-ins, no runtime dependencies, no other adapter.
    files: ['src/stores/indexeddb/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_NODE,
            {
              group: importsOf(ADAPTERS.filter((adapter) => adapter !== 'stores/indexeddb')),
              message: 'Adapters never import each other.',
            },
            NO_DEPS,
          ],
        },
      ],
    },
  },
  {
    // The WebSocket client (sync-kit/ws) runs in browsers: no Node built-ins, no `ws`, no other
    // adapter. Only its server half (node.ts, ws-server.ts: sync-kit/ws/node) may use Node and ws.
    files: ['src/transports/ws/**/*.ts'],
    ignores: [
      ...TESTS,
      '**/*.fixture.ts',
      'src/transports/ws/node.ts',
      'src/transports/ws/ws-server.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_NODE,
            {
              group: importsOf(ADAPTERS.filter((adapter) => adapter !== 'transports/ws')),
              message: 'Adapters never import each other.',
            },
            NO_DEPS,
          ],
        },
      ],
    },
  },
  {
    // The root and testing entries and the loopback transport ship in browser bundles: browser-safe,
    // and the one adapter these entries re-export is loopback.
    files: [...ENTRIES, 'src/transports/loopback/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_NODE,
            {
              group: importsOf(ADAPTERS.filter((adapter) => adapter !== 'transports/loopback')),
              message: 'The core entry never imports another adapter.',
            },
            NO_DEPS,
          ],
        },
      ],
    },
  },
)
