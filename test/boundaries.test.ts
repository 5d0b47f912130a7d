import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// Guards the layering of STYLE.md and docs/architecture.md: types/ depends on nothing, the core
// never imports an adapter, a Node built-in or a runtime dependency, core folders import only the
// layers below them, and adapters never import each other.
const src = resolve(import.meta.dirname, '..', 'src')

/**
 * The core's layers, lowest first: a unit folder may import only units before it. `stores/memory`
 * is the core's reference store (the server core's default log); every other folder under
 * `stores/` and `transports/` is an adapter, and so is `cli`.
 */
const CORE_LAYERS = [
  'types',
  'errors',
  'core',
  'versions',
  'causality',
  'stores/memory',
  'server',
  'projections',
  'resolvers',
  'sync',
  'testing',
  'adapter',
  '.',
]

/** Every adapter folder, found on disk so a new one (postgres, indexeddb, ws) is covered at once. */
const ADAPTERS = [
  ...['stores', 'transports'].flatMap((group) =>
    readdirSync(join(src, group))
      .filter((name) => statSync(join(src, group, name)).isDirectory())
      .map((name) => `${group}/${name}`),
  ),
  'cli',
].filter((unit) => !CORE_LAYERS.includes(unit))

/**
 * The root entry `sync-kit` (`src/index.ts`) re-exports one adapter: the in-process loopback
 * transport ships in the core entry for tests and demos.
 */
const ROOT_ENTRY_ADAPTERS = ['transports/loopback']
const ROOT_ENTRY = join(src, 'index.ts')
/**
 * The testing entry `sync-kit/testing` (`src/testing/index.ts`) re-exports the loopback adapter's
 * test half (`createTestHub`), through the adapter's `testing.ts` module only.
 */
const TESTING_ENTRY_ADAPTERS = ['transports/loopback']
const TESTING_ENTRY = join(src, 'testing', 'index.ts')

/** The adapters an entry file may re-export. */
function entryAdapters(file: string): readonly string[] {
  if (file === ROOT_ENTRY) return ROOT_ENTRY_ADAPTERS
  return file === TESTING_ENTRY ? TESTING_ENTRY_ADAPTERS : []
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return /\.ts$/.test(name) && !/\.(test|int\.test)\.ts$|\.test-d\.ts$/.test(name) ? [path] : []
  })
}

/** The source without comments, so `@example` blocks in TSDoc do not count as imports. */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
}

function importsOf(file: string): string[] {
  const text = code(file)
  const found: string[] = []
  for (const m of text.matchAll(
    /(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    found.push((m[1] ?? m[2]) as string)
  }
  return found
}

function adapterOf(path: string): string | undefined {
  const rel = relative(src, path).replaceAll('\\', '/')
  return ADAPTERS.find((a) => rel.startsWith(`${a}/`))
}

function target(file: string, spec: string): string {
  return spec.startsWith('.') ? resolve(file, '..', spec) : spec
}

describe('module boundaries', () => {
  const all = files(src)

  it('finds the source files', () => {
    expect(all.length).toBeGreaterThan(10)
  })

  it('counts loopback and every store but memory as adapters', () => {
    expect(ADAPTERS).toEqual(
      expect.arrayContaining(['transports/loopback', 'transports/http', 'stores/sqlite', 'cli']),
    )
    expect(ADAPTERS).not.toContain('stores/memory')
  })

  it('lets each core folder import only the layers below it', () => {
    const graph = folderGraph(all.filter((f) => !f.endsWith('.fixture.ts')))
    for (const [from, edges] of graph) {
      if (!CORE_LAYERS.includes(from)) {
        expect(ADAPTERS, `${from} is neither a core layer nor an adapter`).toContain(from)
        continue
      }
      for (const to of edges) {
        if (from === '.' && ROOT_ENTRY_ADAPTERS.includes(to)) continue
        if (from === 'testing' && TESTING_ENTRY_ADAPTERS.includes(to)) continue
        expect(
          CORE_LAYERS.indexOf(to),
          `${from} imports ${to}: ${CORE_LAYERS.includes(to) ? 'a higher layer' : 'an adapter'}`,
        ).toBeGreaterThanOrEqual(0)
        expect(CORE_LAYERS.indexOf(to), `${from} imports ${to}, a higher layer`).toBeLessThan(
          CORE_LAYERS.indexOf(from),
        )
      }
    }
  })

  it('lets adapters reach other adapters only through their public index (cli)', () => {
    for (const file of all.filter((f) => adapterOf(f) === 'cli')) {
      for (const spec of importsOf(file)) {
        const other = adapterOf(target(file, spec))
        if (other === undefined || other === 'cli') continue
        expect(
          /\/(index|node)\.js$/.test(spec),
          `${relative(src, file)} imports ${spec}, an internal module of ${other}`,
        ).toBe(true)
      }
    }
  })

  it('lets the testing entry re-export only the loopback adapter, through its testing module', () => {
    const reexports = importsOf(TESTING_ENTRY).filter((spec) =>
      adapterOf(target(TESTING_ENTRY, spec)),
    )
    expect(reexports).toEqual(['../transports/loopback/testing.js'])
    for (const file of all.filter(
      (f) => relative(src, f).startsWith('testing/') && f !== TESTING_ENTRY,
    )) {
      for (const spec of importsOf(file)) {
        expect(
          adapterOf(target(file, spec)),
          `${relative(src, file)} imports ${spec}`,
        ).toBeUndefined()
      }
    }
  })

  it('keeps src/types free of runtime imports and of anything outside it', () => {
    for (const file of all.filter((f) => relative(src, f).startsWith('types/'))) {
      const text = code(file)
      for (const m of text.matchAll(/^(import|export)\s+(?!type\b)[^\n]*from/gm)) {
        expect.fail(`${relative(src, file)}: runtime ${m[1]} in types/: "${m[0]}"`)
      }
      for (const spec of importsOf(file)) {
        expect(
          target(file, spec).startsWith(join(src, 'types')),
          `${relative(src, file)} imports ${spec}`,
        ).toBe(true)
      }
    }
  })

  it('keeps the core free of adapters, Node built-ins and dependencies', () => {
    for (const file of all.filter((f) => adapterOf(f) === undefined)) {
      for (const spec of importsOf(file)) {
        const where = `${relative(src, file)} imports ${spec}`
        expect(spec.startsWith('.'), where).toBe(true)
        const adapter = adapterOf(target(file, spec))
        if (adapter !== undefined && entryAdapters(file).includes(adapter)) continue
        expect(adapter, where).toBeUndefined()
      }
    }
  })

  it('never lets one adapter import another', () => {
    for (const file of all) {
      const own = adapterOf(file)
      if (own === undefined || own === 'cli') continue
      for (const spec of importsOf(file)) {
        const other = adapterOf(target(file, spec))
        expect(other === undefined || other === own, `${relative(src, file)} imports ${spec}`).toBe(
          true,
        )
      }
    }
  })
})

/**
 * The folder import graph of `src/`: each unit folder (the first folder under `src/`, or the first
 * two under `stores/` and `transports/`; `.` for the root entry) with the unit folders its non-test
 * files import, type-only imports included. A unit's own subfolders (e.g. `testing/store-cases`)
 * belong to it.
 */
function folderGraph(sources: readonly string[]): Map<string, Set<string>> {
  const folderOf = (path: string): string => {
    const parts = relative(src, dirname(path)).replaceAll('\\', '/').split('/').filter(Boolean)
    const depth = parts[0] === 'stores' || parts[0] === 'transports' ? 2 : 1
    return parts.slice(0, depth).join('/') || '.'
  }
  const graph = new Map<string, Set<string>>()
  for (const file of sources) {
    const from = folderOf(file)
    const edges = graph.get(from) ?? new Set<string>()
    graph.set(from, edges)
    for (const spec of importsOf(file)) {
      const to = spec.startsWith('.') ? folderOf(target(file, spec)) : undefined
      if (to !== undefined && to !== from) edges.add(to)
    }
  }
  return graph
}

/** A cycle of the graph as a path that ends where it starts, or `[]` when there is none. */
function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (node: string): string[] => {
    if (done.has(node)) return []
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node]
    path.push(node)
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      const cycle = visit(next)
      if (cycle.length > 0) return cycle
    }
    path.pop()
    done.add(node)
    return []
  }
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node)
    if (cycle.length > 0) return cycle
  }
  return []
}

describe('folder import graph', () => {
  it('has no cycle between the folders of src/ (tests and fixtures aside)', () => {
    const graph = folderGraph(files(src).filter((f) => !f.endsWith('.fixture.ts')))

    expect(graph.size).toBeGreaterThan(5)
    expect(findCycle(graph), 'a cycle of folder imports').toEqual([])
  })

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ])

    expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a'])
    expect(findCycle(new Map([['a', new Set(['b'])]]))).toEqual([])
  })
})
