import type { Options } from 'tsup'

/**
 * Build entries: output name (under dist/) → source file. `test/exports.test.ts` checks that
 * package.json `exports` lists exactly these, with `types` first.
 */
export const entries: Record<string, string> = {
  index: 'src/index.ts',
  'types/index': 'src/types/index.ts',
  'adapter/index': 'src/adapter/index.ts',
  'testing/index': 'src/testing/index.ts',
  'stores/sqlite/index': 'src/stores/sqlite/index.ts',
  'stores/postgres/index': 'src/stores/postgres/index.ts',
  'stores/indexeddb/index': 'src/stores/indexeddb/index.ts',
  'transports/http/index': 'src/transports/http/index.ts',
  'transports/http/node': 'src/transports/http/node.ts',
  'transports/ws/index': 'src/transports/ws/index.ts',
  'transports/ws/node': 'src/transports/ws/node.ts',
}

/**
 * The library: every entry in ESM and CJS. `splitting` puts code that several entries use (the
 * `SyncKitError` class above all) into shared chunks under `dist/chunks/`, so each format holds one
 * copy of every module: an error thrown by `sync-kit/http` is `instanceof` the `SyncKitError` of
 * `sync-kit`. CJS splitting is experimental in tsup (esbuild splits ESM; with `treeshake` rollup
 * turns every chunk into CJS); `test/entry-errors.test.ts` checks the result in both formats.
 */
const config: Options = {
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  // dist/cli belongs to cliConfig, which builds at the same time.
  clean: ['!cli/**'],
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  treeshake: true,
  external: ['better-sqlite3', 'pg', 'ws'],
  esbuildOptions(options) {
    // Shared chunks in a folder of their own, apart from the entry files.
    options.chunkNames = 'chunks/[name]-[hash]'
  },
}

/**
 * The `sync-kit` executable (package.json `bin`: `dist/cli/main.js`), built beside the library:
 * ESM for Node with a shebang. It bundles the code it uses and is not an `exports` entry.
 */
const cliConfig: Options = {
  entry: { main: 'src/cli/main.ts' },
  outDir: 'dist/cli',
  format: ['esm'],
  // The `require` of the bundled CommonJS (ws asks for Node's built-ins with it): esbuild's ESM
  // output has none of its own.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __syncKitCreateRequire } from 'node:module'",
      'const require = __syncKitCreateRequire(import.meta.url)',
    ].join('\n'),
  },
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // Optional peer dependencies, loaded from the user's node_modules: better-sqlite3 for a SQLite
  // --db, pg (imported only for a postgres:// --db) for PostgreSQL. ws is bundled (plain
  // JavaScript; its optional native add-ons stay out), so `sync-kit serve` accepts WebSocket
  // clients without the optional peer dependency installed.
  external: ['better-sqlite3', 'pg', 'bufferutil', 'utf-8-validate'],
  // tsup leaves every (peer) dependency external by default: without this, main.js imported `ws`
  // and `sync-kit serve` failed to load where `ws` was not installed.
  noExternal: ['ws'],
}

const configs: Options[] = [config, cliConfig]

export default configs
