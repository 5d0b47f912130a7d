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
import type { TableRow } from '../report.js'

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
  /** The same role in a peer library, measured the same way, or why it was not. */
  readonly peer?: PeerSize
}

/** A peer's bundle for the same role. */
export interface PeerSize {
  /** The peer and what it imports, e.g. `logux 0.23.2 (ClientNode + …)`. */
  readonly name: string
  /** Minified and gzipped bytes, when measured. */
  readonly gzipBytes?: number
  /** Minified bytes, when measured. */
  readonly minBytes?: number
  /** Why it was not measured. */
  readonly reason?: string
}

/** What section 6 measured. */
export interface SizeResult {
  /** `dist` (the build) or `src` (no build found). */
  readonly source: 'dist' | 'src'
  /** esbuild version. */
  readonly esbuild: string
  /** One per entry. */
  readonly entries: readonly EntrySize[]
}

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

/** `export { names } from 'file'` (`export *` without names): what an app's import keeps. */
function reExport(file: string, names: readonly string[] | undefined): string {
  return `export ${names === undefined ? '*' : `{ ${names.join(', ')} }`} from ${JSON.stringify(file)}\n`
}

/**
 * Bundles one entry as an app's bundler would and measures it.
 * @param file - absolute path of the entry file.
 * @param names - the exports the app imports; all of them when undefined.
 * @returns minified and min+gzip bytes.
 */
function measure(
  file: string,
  names: readonly string[] | undefined,
): Promise<Pick<EntrySize, 'minBytes' | 'gzipBytes' | 'largestInputs'>> {
  return measureModule(reExport(file, names), ROOT)
}

/**
 * Bundles a module as an app's bundler would and measures it.
 * @param contents - the module: what the app imports.
 * @param resolveDir - where its imports resolve from.
 * @returns minified and min+gzip bytes.
 */
async function measureModule(
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
  ctx.log(`[bench] 6 size: ${BROWSER_APP_ENTRY}`)
  entries.push(await measureBrowserApp(pkg.exports, useDist))
  const { version } = (await import('esbuild')) as { version: string }
  return { source: useDist ? 'dist' : 'src', esbuild: version, entries }
}

/** The row of the offline-first browser app (issue 11: examples/web). */
export const BROWSER_APP_ENTRY =
  'browser app: SyncManager + openIndexedDbStore + createHttpTransport + lastWriteWins'

/** What the browser app imports, by entry. */
const BROWSER_APP: readonly {
  readonly subpath: string
  readonly src: string
  readonly names: readonly string[]
}[] = [
  { subpath: '.', src: 'src/index.ts', names: ['SyncManager', 'lastWriteWins'] },
  { subpath: './indexeddb', src: 'src/stores/indexeddb/index.ts', names: ['openIndexedDbStore'] },
  { subpath: './http', src: 'src/transports/http/index.ts', names: ['createHttpTransport'] },
]

/**
 * Logux's client in the same role: a client node syncing over a reconnecting WebSocket, its log
 * in IndexedDB (its transport is WebSocket only; it resolves decisions by time order itself).
 * Resolved from `@logux/client`'s folder, so the bundle holds the `@logux/core` it depends on,
 * as in an app that installs `@logux/client`.
 */
const LOGUX_APP = `export { ClientNode, WsConnection, Reconnect } from '@logux/core'
export { IndexedStore } from '@logux/client'
`

async function measureBrowserApp(
  exports: Record<string, ExportTarget | string>,
  useDist: boolean,
): Promise<EntrySize> {
  const fileOf = (e: (typeof BROWSER_APP)[number]): string => {
    const target = exports[e.subpath]
    const rel = typeof target === 'object' ? target.import?.default : undefined
    return join(ROOT, useDist && rel !== undefined ? rel : e.src)
  }
  const app = BROWSER_APP.map((e) => reExport(fileOf(e), e.names)).join('')
  const measured = await measureModule(app, ROOT)
  const breakdown = useDist
    ? (
        await measureModule(
          BROWSER_APP.map((e) => reExport(join(ROOT, e.src), e.names)).join(''),
          ROOT,
        )
      ).largestInputs
    : measured.largestInputs
  const require = createRequire(join(ROOT, 'package.json'))
  const role = 'ClientNode + WsConnection + Reconnect + IndexedStore'
  let peer: PeerSize
  try {
    const manifest = require.resolve('@logux/client/package.json')
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }
    const logux = await measureModule(LOGUX_APP, dirname(manifest))
    peer = {
      name: `logux ${version} (${role})`,
      gzipBytes: logux.gzipBytes,
      minBytes: logux.minBytes,
    }
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error)
    peer = { name: `logux (${role})`, reason: `@logux/client does not bundle here (${why})` }
  }
  return {
    entry: BROWSER_APP_ENTRY,
    file: useDist ? 'dist/' : 'src/',
    ...measured,
    largestInputs: breakdown,
    peer,
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
  return size.entries.map((e) => {
    const row = {
      section: 6,
      id: `size.${e.entry}`,
      operation: `min+gzip of ${e.entry} (esbuild ${size.esbuild}, from ${size.source}/)`,
      syncKit: `${e.gzipBytes} B (min ${e.minBytes} B)`,
    }
    if (e.peer !== undefined) {
      const { gzipBytes, minBytes, name, reason } = e.peer
      if (gzipBytes === undefined) {
        return { ...row, versus: name, other: `not measured: ${reason ?? ''}`, ratio: '—' }
      }
      const ratioValue = gzipBytes / e.gzipBytes
      return {
        ...row,
        versus: name,
        other: `${gzipBytes} B (min ${minBytes ?? 0} B)`,
        ratio: `${ratioValue.toFixed(2)}× (its bytes / ours)`,
        ratioValue,
        note: 'logux syncs over WebSocket only; the sync-kit app also validates events, detects conflicts by causality and speaks HTTP + SSE',
      }
    }
    return {
      ...row,
      versus: e.entry === 'sync-kit' ? 'target' : e.entry === 'sync-kit/types' ? 'target' : '—',
      other:
        e.entry === 'sync-kit'
          ? `< ${CORE_TARGET_BYTES} B`
          : e.entry === 'sync-kit/types'
            ? '0 B'
            : '—',
      ratio: '—',
    }
  })
}
