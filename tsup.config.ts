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
  'transports/http/index': 'src/transports/http/index.ts',
  'transports/http/node': 'src/transports/http/node.ts',
}

const config: Options = {
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: false,
  treeshake: true,
  external: ['better-sqlite3'],
}

export default config
