import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { entries } from '../tsup.config.js'
import { linkedProject, pkg, root, specifier, subpaths } from './package.fixture.js'

/** Most runtime values the root entry `sync-kit` (the app developer's API) may export. */
const ROOT_MAX_VALUES = 40

/** Helpers only adapter authors need: exported by `sync-kit/adapter`, not by `sync-kit`. */
const ADAPTER_ONLY = [
  'EVENT_FIELD_MAX_LENGTH',
  'EVENT_JSON_MAX_DEPTH',
  'HLC_MAX_COUNTER',
  'HLC_MAX_WALL_MS',
  'MAX_CAUSAL_COUNT',
  'MAX_STATE_KEY_LENGTH',
  'STANDARD_FILTER_KEYS',
  'SYSTEM_CLOCK',
  'assertNodeId',
  'backoffDelay',
  'canonicalJson',
  'causalContextOf',
  'changedFields',
  'checkBatchCheckpoint',
  'checkCheckpointKey',
  'checkCheckpointValue',
  'checkStateKey',
  'checkStateValue',
  'compileFilterGroups',
  'compileFilters',
  'deepFreeze',
  'eventsEqual',
  'groupFilters',
  'includeTombstones',
  'integerOption',
  'isEventStore',
  'jsonEqual',
  'refuseRenamedOptions',
  'relate',
  'resolveBackoff',
  'resolveTimers',
  'throwIfAborted',
  'validateEvent',
  'validateLimit',
]

async function runtimeNames(file: string): Promise<string[]> {
  const module = (await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>
  return Object.keys(module).sort()
}

describe('package exports', () => {
  it('lists exactly the tsup entries, with types first in every condition', () => {
    const fromExports = subpaths()
      .map(([, c]) => (c.import?.default ?? '').replace(/^\.\/dist\//, '').replace(/\.js$/, ''))
      .sort()
    const binEntries = Object.values(pkg.bin ?? {}).map((p) =>
      p.replace(/^\.\/dist\//, '').replace(/\.js$/, ''),
    )
    const library = Object.keys(entries)
      .filter((name) => !binEntries.includes(name))
      .sort()
    expect(fromExports).toEqual(library)
    for (const [key, conditions] of subpaths()) {
      for (const [condition, target] of Object.entries(conditions)) {
        expect(Object.keys(target)[0], `${key} ${condition}`).toBe('types')
      }
      expect(Object.keys(conditions), key).toEqual(['import', 'require'])
    }
  })

  it('points at files the build produced', () => {
    for (const [key, conditions] of subpaths()) {
      for (const target of Object.values(conditions)) {
        for (const file of Object.values(target)) {
          expect(existsSync(join(root, file)), `${key}: ${file} (run npm run build)`).toBe(true)
        }
      }
    }
  })

  it('ships zero bytes of runtime code in sync-kit/types', () => {
    const js = readFileSync(join(root, 'dist/types/index.js'), 'utf8')
    const code = js
      .replace(/\/\/.*$/gm, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim()
    expect(code).toBe('')
  })

  it('keeps the root entry to the app API, at most 40 runtime values', async () => {
    const names = await runtimeNames('dist/index.js')
    expect(
      names.length,
      `sync-kit exports ${names.length} values: ${names.join(', ')}`,
    ).toBeLessThanOrEqual(ROOT_MAX_VALUES)
    for (const name of ['SyncManager', 'createMemoryStore', 'createLoopbackHub', 'SyncKitError']) {
      expect(names).toContain(name)
    }
    expect(names.filter((name) => ADAPTER_ONLY.includes(name))).toEqual([])
  })

  it('exports the adapter helpers from sync-kit/adapter, in ESM and CJS alike', async () => {
    const esm = await runtimeNames('dist/adapter/index.js')
    expect(esm).toEqual([...ADAPTER_ONLY].sort())
    const cjs = execFileSync(
      process.execPath,
      [
        '-p',
        `Object.keys(require(${JSON.stringify(join(root, 'dist/adapter/index.cjs'))})).sort().join()`,
      ],
      { encoding: 'utf8' },
    )
    expect(cjs.trim()).toBe(esm.join())
  })

  describe('published declarations compile under nodenext', () => {
    const project = linkedProject('sync-kit-nodenext-')
    const dir = project.dir
    afterAll(() => project.remove())

    it('from an ES module and a CommonJS module', () => {
      symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'dir')
      const imports = subpaths().map(([key]) => specifier(key))
      const body = imports
        .map((s, i) => `import type * as m${i} from '${s}'\nexport type T${i} = typeof m${i}`)
        .join('\n')
      writeFileSync(
        join(dir, 'esm.mts'),
        `${body}\nimport type { EventStore } from 'sync-kit/types'\nexport type S = EventStore\n`,
      )
      writeFileSync(join(dir, 'cjs.cts'), `${body}\n`)
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
          },
          files: ['esm.mts', 'cjs.cts'],
        }),
      )
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
      let output = ''
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' })
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error)
      }
      expect(output).toBe('')
    })
  })
})
