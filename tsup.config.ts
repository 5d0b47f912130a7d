import type { Options } from 'tsup'

/**
 * Build entries: output name (under dist/) → source file. `test/exports.test.ts` checks that
 * package.json `exports` lists exactly these, with `types` first.
 */
export const entries: Record<string, string> = {
  index: 'src/index.ts',
  'types/index': 'src/types/index.ts',
  'testing/index': 'src/testing/index.ts',
  'stores/sqlite/index': 'src/stores/sqlite/index.ts',
  'stores/postgres/index': 'src/stores/postgres/index.ts',
  'transports/http/index': 'src/transports/http/index.ts',
  'transports/http/node': 'src/transports/http/node.ts',
}

const config: Options = {
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  // dist/cli belongs to cliConfig, which builds at the same time.
  clean: ['!cli/**'],
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: false,
  treeshake: true,
  external: ['better-sqlite3', 'pg'],
}

/**
 * The `sync-kit` executable (package.json `bin`: `dist/cli/main.js`), built beside the library:
 * ESM for Node with a shebang. It bundles the code it uses and is not an `exports` entry.
 */
const cliConfig: Options = {
  entry: { main: 'src/cli/main.ts' },
  outDir: 'dist/cli',
  format: ['esm'],
  banner: { js: '#!/usr/bin/env node' },
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  external: ['better-sqlite3'],
}

const configs: Options[] = [config, cliConfig]

export default configs
