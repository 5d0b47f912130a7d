/**
 * Section 6: bytes a bundler adds to an app for each browser-facing entry, minified and gzipped.
 *
 * Like a bundler: esbuild bundles a file that re-exports everything (`export * from '<entry>'`)
 * with minification and tree-shaking, for the browser, then node:zlib gzips the output (level 9).
 * The entries are the built files `package.json` `exports` points at (`dist/`, from `npm run
 * build`); without a build, the sources (`src/`), which tsup bundles the same way.
 * `sync-kit/types` must come out at 0 bytes of code: it holds only types.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

import { build } from 'esbuild'

import type { BenchContext } from '../context.js'
import { isLoaded, loadLogux } from '../peers.js'
import { type TableRow, formatRatio } from '../report.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Target of the core entry: under 10 kB min+gzip. */
export const CORE_TARGET_BYTES = 10_000

/** One entry's size. */
export interface EntrySize {
  /** The import specifier, e.g. `sync-kit/types`. */
  readonly entry: string
  /** The file bundled. */
  readonly file: string
  /** Minified bytes. */
  readonly minBytes: number
  /** Minified and gzipped bytes (0 when there is no code at all). */
  readonly gzipBytes: number
  /**
   * Where the minified bytes come from: the largest source files, bytes each (before gzip), from
   * bundling the sources (the built entry is one file).
   */
  readonly largestInputs: readonly { readonly file: string; readonly bytes: number }[]
}

/** A working app's bundle, against the Logux app that does the same, in the same run. */
export interface AppSetSize {
  /** The app set, e.g. `app: loopback (SyncManager + createMemoryStore + createLoopbackHub + lastWriteWins)`. */
  readonly entry: string
  /** Minified bytes. */
  readonly minBytes: number
  /** Minified and gzipped bytes. */
  readonly gzipBytes: number
  /** The issue's target: below this many bytes min+gzip (none for the browser set). */
  readonly targetBytes?: number
  /** The largest source files, minified bytes each (from bundling the sources). */
  readonly largestInputs: readonly { readonly file: string; readonly bytes: number }[]
  /** The Logux app of the same kind, bundled the same way. */
  readonly logux: {
    /** What it imports, e.g. `logux 0.12.1: ClientNode + LocalPair + MemoryStore + Log`. */
    readonly name: string
    /** Its size, or why it was not measured. */
    readonly minBytes?: number
    readonly gzipBytes?: number
    readonly notMeasured?: string
  }
}

/** What section 6 measured. */
export interface SizeResult {
  /** `dist` (the build) or `src` (no build found). */
  readonly source: 'dist' | 'src'
  /** esbuild version. */
  readonly esbuild: string
  /** One per entry. */
  readonly entries: readonly EntrySize[]
  /** The working apps, against Logux's. */
  readonly apps?: readonly AppSetSize[]
}

/**
 * The app sets: what an app that syncs imports (a store, a transport, a resolver and the
 * manager), each with the Logux app of the same kind, and the issue's target. Each import names
 * the package entry (`.` is `sync-kit`, `./http` is `sync-kit/http`).
 */
/** The browser app set's row name (the web example's imports, without its helpers). */
export const BROWSER_APP_ENTRY =
  'app: browser (SyncManager + openIndexedDbStore + createHttpTransport + lastWriteWins)'

export const APP_SETS: readonly {
  readonly entry: string
  readonly imports: readonly {
    readonly subpath: string
    readonly src: string
    readonly names: readonly string[]
  }[]
  /** Below this many bytes min+gzip (issue 14's targets); none for the browser set. */
  readonly targetBytes?: number
  /** What the Logux app imports from `@logux/core`. */
  readonly logux: readonly string[]
  /** What it also imports from `@logux/client` (then resolved from that package's folder). */
  readonly loguxClient?: readonly string[]
}[] = [
  {
    entry: 'app: loopback (SyncManager + createMemoryStore + createLoopbackHub + lastWriteWins)',
    imports: [
      {
        subpath: '.',
        src: 'src/index.ts',
        names: ['SyncManager', 'createMemoryStore', 'createLoopbackHub', 'lastWriteWins'],
      },
    ],
    targetBytes: 6_300,
    logux: ['ClientNode', 'LocalPair', 'MemoryStore', 'Log'],
  },
  {
    entry: 'app: HTTP (SyncManager + createMemoryStore + createHttpTransport + lastWriteWins)',
    imports: [
      {
        subpath: '.',
        src: 'src/index.ts',
        names: ['SyncManager', 'createMemoryStore', 'lastWriteWins'],
      },
      { subpath: './http', src: 'src/transports/http/index.ts', names: ['createHttpTransport'] },
    ],
    targetBytes: 7_000,
    // A working Logux client: the node, its log and store, the WebSocket connection that
    // reconnects (the issue's HTTP-side counterpart).
    logux: ['ClientNode', 'Log', 'MemoryStore', 'WsConnection', 'Reconnect'],
  },
  {
    entry: BROWSER_APP_ENTRY,
    imports: [
      { subpath: '.', src: 'src/index.ts', names: ['SyncManager', 'lastWriteWins'] },
      {
        subpath: './indexeddb',
        src: 'src/stores/indexeddb/index.ts',
        names: ['openIndexedDbStore'],
      },
      { subpath: './http', src: 'src/transports/http/index.ts', names: ['createHttpTransport'] },
    ],
    // Logux's client in the same role (issue 11): a client node syncing over a reconnecting
    // WebSocket, its log kept in IndexedDB. Resolved from `@logux/client`'s folder, so the bundle
    // holds the `@logux/core` it depends on, as in an app that installs `@logux/client`.
    logux: ['ClientNode', 'WsConnection', 'Reconnect'],
    loguxClient: ['IndexedStore'],
  },
]

/** Where the peers are installed: `@logux/core` resolves from here. */
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))

interface ExportTarget {
  readonly import?: { readonly default?: string }
}

const ENTRIES: readonly {
  readonly entry: string
  readonly subpath: string
  readonly src: string
  /** What the app imports; everything (`*`) unless given. */
  readonly names?: readonly string[]
}[] = [
  { entry: 'sync-kit', subpath: '.', src: 'src/index.ts' },
  { entry: 'sync-kit/types', subpath: './types', src: 'src/types/index.ts' },
  { entry: 'sync-kit/http', subpath: './http', src: 'src/transports/http/index.ts' },
  // What a typical offline-first app imports from the core: not a target, shows tree-shaking.
  {
    entry: 'sync-kit { SyncManager, createMemoryStore }',
    subpath: '.',
    src: 'src/index.ts',
    names: ['SyncManager', 'createMemoryStore'],
  },
]

/**
 * Bundles one entry as an app's bundler would and measures it.
 * @param file - absolute path of the entry file.
 * @param names - the exports the app imports; all of them when undefined.
 * @returns minified and min+gzip bytes.
 */
async function measure(
  file: string,
  names: readonly string[] | undefined,
): Promise<Pick<EntrySize, 'minBytes' | 'gzipBytes' | 'largestInputs'>> {
  return measureSource(
    `export ${names === undefined ? '*' : `{ ${names.join(', ')} }`} from ${JSON.stringify(file)}`,
    ROOT,
  )
}

/**
 * Bundles an app's source as its bundler would and measures it.
 * @param contents - the app's only file (imports and re-exports).
 * @param resolveDir - where its bare imports resolve from.
 * @returns minified and min+gzip bytes, and the largest inputs.
 */
async function measureSource(
  contents: string,
  resolveDir: string,
): Promise<Pick<EntrySize, 'minBytes' | 'gzipBytes' | 'largestInputs'>> {
  const result = await build({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]?.contents ?? new Uint8Array()
  const inputs = Object.values(result.metafile.outputs)[0]?.inputs ?? {}
  const largestInputs = Object.entries(inputs)
    .map(([input, info]) => ({ file: input, bytes: info.bytesInOutput }))
    .filter((input) => input.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8)
  // esbuild emits a lone newline for a module without code: that is 0 bytes of code.
  const text = new TextDecoder().decode(code).trim()
  if (text === '') return { minBytes: 0, gzipBytes: 0, largestInputs }
  return {
    minBytes: Buffer.byteLength(text),
    gzipBytes: gzipSync(text, { level: 9 }).byteLength,
    largestInputs,
  }
}

/**
 * Runs section 6.
 * @param ctx - the run's context.
 * @returns the sizes.
 * @example
 * ```ts
 * import { runSizeSection } from './sections/bundle-size.js'
 *
 * const size = await runSizeSection(ctx)
 * ```
 */
export async function runSizeSection(ctx: BenchContext): Promise<SizeResult> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, ExportTarget | string>
  }
  const built = ENTRIES.map((e) => {
    const target = pkg.exports[e.subpath]
    const rel = typeof target === 'object' ? target.import?.default : undefined
    return rel === undefined ? undefined : join(ROOT, rel)
  })
  const useDist = built.every((file) => file !== undefined && existsSync(file))
  if (!useDist) ctx.log('[bench] 6 size: no build in dist/ (npm run build); bundling the sources')
  const entries: EntrySize[] = []
  for (const [i, e] of ENTRIES.entries()) {
    const file = useDist ? (built[i] as string) : join(ROOT, e.src)
    ctx.log(`[bench] 6 size: ${e.entry}`)
    const measured = await measure(file, e.names)
    // The built entry is one file: take the breakdown by source file from bundling the sources.
    const breakdown = useDist
      ? (await measure(join(ROOT, e.src), e.names)).largestInputs
      : measured.largestInputs
    entries.push({
      entry: e.entry,
      file: file.slice(ROOT.length),
      ...measured,
      largestInputs: breakdown,
    })
  }
  const { version } = (await import('esbuild')) as { version: string }
  const apps = await measureApps(ctx, pkg.exports, useDist)
  return { source: useDist ? 'dist' : 'src', esbuild: version, entries, apps }
}

/** The app sets against Logux's: see {@link APP_SETS}. */
async function measureApps(
  ctx: BenchContext,
  exports: Record<string, ExportTarget | string>,
  useDist: boolean,
): Promise<AppSetSize[]> {
  const logux = await loadLogux()
  const apps: AppSetSize[] = []
  for (const app of APP_SETS) {
    ctx.log(`[bench] 6 size: ${app.entry}`)
    const source = (dist: boolean): string =>
      app.imports
        .map((i) => {
          const target = exports[i.subpath]
          const rel = typeof target === 'object' ? target.import?.default : undefined
          const file = dist && rel !== undefined ? join(ROOT, rel) : join(ROOT, i.src)
          return `export { ${i.names.join(', ')} } from ${JSON.stringify(file)}`
        })
        .join('\n')
    const measured = await measureSource(source(useDist), ROOT)
    const breakdown = useDist
      ? (await measureSource(source(false), ROOT)).largestInputs
      : measured.largestInputs
    const name = `${logux.name}: ${[...app.logux, ...(app.loguxClient ?? [])].join(' + ')}`
    let peer: AppSetSize['logux']
    if (!isLoaded(logux)) peer = { name, notMeasured: logux.reason }
    else if (app.loguxClient === undefined) {
      const l = await measureSource(
        `export { ${app.logux.join(', ')} } from '@logux/core'`,
        BENCH_DIR,
      )
      peer = { name, minBytes: l.minBytes, gzipBytes: l.gzipBytes }
    } else {
      peer = await measureLoguxClient(name, app.logux, app.loguxClient)
    }
    apps.push({
      entry: app.entry,
      minBytes: measured.minBytes,
      gzipBytes: measured.gzipBytes,
      ...(app.targetBytes === undefined ? {} : { targetBytes: app.targetBytes }),
      largestInputs: breakdown,
      logux: peer,
    })
  }
  return apps
}

/**
 * Measures a Logux client app: `core` from `@logux/core` and `client` from `@logux/client`,
 * resolved from `@logux/client`'s folder (the `@logux/core` it depends on, not the bench's).
 * @param name - the row's name for it.
 * @param core - what it imports from `@logux/core`.
 * @param client - what it imports from `@logux/client`.
 * @returns its size, or why it was not measured (not installed, does not bundle).
 */
async function measureLoguxClient(
  name: string,
  core: readonly string[],
  client: readonly string[],
): Promise<AppSetSize['logux']> {
  try {
    const require = createRequire(join(BENCH_DIR, 'package.json'))
    const manifest = require.resolve('@logux/client/package.json')
    const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
    const l = await measureSource(
      `export { ${core.join(', ')} } from '@logux/core'\nexport { ${client.join(', ')} } from '@logux/client'\n`,
      dirname(manifest),
    )
    return {
      name: `${name} (@logux/client ${version})`,
      minBytes: l.minBytes,
      gzipBytes: l.gzipBytes,
    }
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error)
    return { name, notMeasured: `@logux/client does not install or bundle here (${why ?? ''})` }
  }
}

/**
 * The table rows of section 6.
 * @param size - the section's result.
 * @returns one row per entry.
 * @example
 * ```ts
 * import { sizeRows } from './sections/bundle-size.js'
 *
 * sizeRows(size)
 * ```
 */
export function sizeRows(size: SizeResult): TableRow[] {
  const apps = (size.apps ?? []).map((a) => ({
    section: 6,
    id: `size.${a.entry}`,
    operation: `min+gzip of ${a.entry} (esbuild ${size.esbuild}, from ${size.source}/)`,
    syncKit: `${a.gzipBytes} B (min ${a.minBytes} B)`,
    versus: a.logux.name,
    other:
      a.logux.gzipBytes === undefined
        ? `not measured: ${a.logux.notMeasured ?? 'unknown'}`
        : `${a.logux.gzipBytes} B (min ${a.logux.minBytes ?? 0} B)`,
    ratio: a.logux.gzipBytes === undefined ? '—' : formatRatio(a.logux.gzipBytes / a.gzipBytes),
    ...(a.logux.gzipBytes === undefined ? {} : { ratioValue: a.logux.gzipBytes / a.gzipBytes }),
    note: `${a.targetBytes === undefined ? 'no target' : `target < ${a.targetBytes} B`}; ratio = Logux's bytes / sync-kit's (above 1: sync-kit is smaller)`,
  }))
  return [
    ...size.entries.map((e) => ({
      section: 6,
      id: `size.${e.entry}`,
      operation: `min+gzip of ${e.entry} (esbuild ${size.esbuild}, from ${size.source}/)`,
      syncKit: `${e.gzipBytes} B (min ${e.minBytes} B)`,
      versus: e.entry === 'sync-kit' ? 'target' : e.entry === 'sync-kit/types' ? 'target' : '—',
      other:
        e.entry === 'sync-kit'
          ? `< ${CORE_TARGET_BYTES} B`
          : e.entry === 'sync-kit/types'
            ? '0 B'
            : '—',
      ratio: '—',
    })),
    ...apps,
  ]
}
