import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { linkedProject, pkg, root, specifier } from './package.fixture.js'

// Against the BUILT package (dist/, `npm run build` first), as an app installs it: every entry
// that throws errors throws the one SyncKitError of `sync-kit`, in ESM and in CommonJS.

/**
 * Per `exports` entry: a call into that entry's own code that fails with a real SyncKitError
 * (`m` is the entry's module), and the code it fails with. `./types` has no runtime code.
 */
const PROVOKE: Record<string, { readonly call: string; readonly code: string }> = {
  '.': { call: `m.SequenceVersion.parse('not a version')`, code: 'version-parse' },
  './adapter': { call: `m.validateEvent({ id: '' }, 'entry-test')`, code: 'invalid-event' },
  './testing': { call: `m.eventStoreConformance({})`, code: 'invalid-argument' },
  './sqlite': { call: `await m.openSqliteStore({ path: '' })`, code: 'invalid-argument' },
  './postgres': { call: `await m.createPostgresStore({ pool: null })`, code: 'invalid-argument' },
  './indexeddb': { call: `await m.openIndexedDbStore({ name: '' })`, code: 'invalid-argument' },
  './http': { call: `m.createHttpTransport({ url: 'not a url' })`, code: 'invalid-argument' },
  // The second server on the first one's port cannot listen: `unavailable`.
  './http/node': {
    call: `{
      const handler = async () => new Response('')
      const first = await m.serve({ handler, host: '127.0.0.1', port: 0 })
      try { await m.serve({ handler, host: '127.0.0.1', port: first.port }) }
      finally { await first.close() }
    }`,
    code: 'unavailable',
  },
  './ws': { call: `m.createWebSocketTransport({ url: 'not a url' })`, code: 'invalid-argument' },
  './ws/node': {
    call: `m.createWebSocketServer({ handler: { endpoint: { access: {}, heartbeatMs: 1 } }, maxMessageBytes: -1 })`,
    code: 'invalid-argument',
  },
}

/**
 * A script that provokes every case and prints, per entry, whether the error is `instanceof` the
 * `SyncKitError` of `sync-kit` in the same format, and whether `isSyncKitError` of `sync-kit` in
 * the other format (an ESM and a CJS copy side by side in one process) recognises it.
 */
function script(format: 'esm' | 'cjs'): string {
  const load = format === 'esm' ? 'await import' : 'require'
  const other = format === 'esm' ? `createRequire(import.meta.url)` : `await import`
  const cases = Object.entries(PROVOKE)
    .map(
      ([key, { call }]) => `  [${JSON.stringify(key)}, ${JSON.stringify(specifier(key))},
    async (m) => { ${call} }],`,
    )
    .join('\n')
  const body = `
  const { SyncKitError } = ${load}('sync-kit')
  const other = ${other}('sync-kit')
  const results = {}
  for (const [key, spec, provoke] of [
${cases}
  ]) {
    const m = ${load}(spec)
    try {
      await provoke(m)
      results[key] = 'no error'
    } catch (error) {
      results[key] = {
        name: error?.name,
        code: error?.code,
        instanceOf: error instanceof SyncKitError,
        // The very class of sync-kit, not an equal copy that instanceof also accepts.
        sameClass: Object.getPrototypeOf(error) === SyncKitError.prototype,
        otherFormat: other.isSyncKitError(error, error?.code),
      }
    }
  }
  console.log(JSON.stringify({ twoCopies: SyncKitError !== other.SyncKitError, results }))`
  return format === 'esm'
    ? `import { createRequire } from 'node:module'\n${body}\n`
    : `;(async () => {${body}\n})().catch((e) => { console.error(e); process.exit(1) })\n`
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

describe('SyncKitError across entry points (built package)', () => {
  const project = linkedProject('sync-kit-entry-errors-')
  const dir = project.dir
  afterAll(() => project.remove())

  it('provokes an error from every entry point but the type-only one', () => {
    const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json')
    expect(Object.keys(PROVOKE).sort()).toEqual(entries.filter((k) => k !== './types').sort())
  })

  it('builds one SyncKitError class per format, which every entry shares', () => {
    const library = filesUnder(join(root, 'dist')).filter(
      (f) => !f.startsWith(join(root, 'dist', 'cli')),
    )
    for (const extension of ['.js', '.cjs']) {
      const holders = library.filter(
        (file) =>
          file.endsWith(extension) &&
          /\bSyncKitError = class\b|\bclass _*SyncKitError\b/.test(readFileSync(file, 'utf8')),
      )
      expect(
        holders.map((f) => f.slice(root.length + 1)),
        `${extension} (run npm run build)`,
      ).toHaveLength(1)
    }
  })

  for (const format of ['esm', 'cjs'] as const) {
    it(`Given an error from each entry, When ${format === 'esm' ? 'imported' : 'required'}, Then it is instanceof the SyncKitError of sync-kit`, () => {
      const file = join(dir, format === 'esm' ? 'check.mjs' : 'check.cjs')
      writeFileSync(file, script(format))
      const out = execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' })
      const { twoCopies, results } = JSON.parse(out) as {
        twoCopies: boolean
        results: Record<string, unknown>
      }
      // The ESM and the CJS build are two copies side by side, with a class each: across them
      // isSyncKitError, which checks name and code, is the test that works.
      expect(twoCopies).toBe(true)
      for (const [key, { code }] of Object.entries(PROVOKE)) {
        expect(results[key], `${format} ${specifier(key)}`).toEqual({
          name: 'SyncKitError',
          code,
          instanceOf: true,
          sameClass: true,
          otherFormat: true,
        })
      }
    })
  }
})
