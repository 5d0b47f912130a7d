// The API reference, `npm run docs` (into api/, git-ignored), built from the TSDoc of the package's
// public entries: one module per subpath of package.json `exports`, read from the source its
// declaration file is built from (`./dist/stores/sqlite/index.d.ts` ← src/stores/sqlite/index.ts),
// so a new entry is in the reference as soon as it is exported. Any warning fails the build: every
// export documented, every `{@link}` resolved, nothing referenced that is not exported.
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath, target]) => ({
    name: `sync-kit${subpath.slice(1)}`,
    file: target.import.types.replace(/^\.\/dist\//, './src/').replace(/\.d\.ts$/, '.ts'),
  }))

// Each entry names its module by its import path (`@module sync-kit/sqlite` in its opening
// comment), so the reference reads as the imports do, not as the source tree.
for (const { name, file } of entries) {
  if (!readFileSync(new URL(file, import.meta.url), 'utf8').includes(`\n * @module ${name}\n`)) {
    throw new Error(`${file}: its opening comment needs \`@module ${name}\` (typedoc.config.js)`)
  }
}

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  entryPoints: entries.map((entry) => entry.file),
  out: 'api',
  tsconfig: './tsconfig.json',
  name: 'sync-kit',
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  // `npm run typecheck` checks the types; this build checks the comments.
  skipErrorChecking: true,
  // `SyncHandler.endpoint` is the seam a second wire of the same server (sync-kit/ws/node) plugs
  // into: apps pass the handler along and never build or call an endpoint themselves.
  intentionallyNotExported: ['SyncEndpoint'],
  // No links to a source host: a checkout's remote may be a local path or missing (a CI clone),
  // which TypeDoc warns about; the reference stands on the TSDoc alone.
  disableSources: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, invalidPath: true, notDocumented: true },
}

export default config
