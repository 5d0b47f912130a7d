/**
 * `npm run demo:web`: builds the web todo app, serves it on one port and runs `sync-kit serve` on
 * another, with `--cors` for the page's origin and a SQLite database in a temporary folder, prints
 * the URL, and stops both (deleting the folder) on Ctrl-C or SIGTERM.
 *
 * Flags: `--port <n>` for the page (default 8080), `--sync-port <n>` for the sync server (default
 * 8787), `--db <file>` to keep the server's database in a file of your choice. `0` picks a free
 * port.
 *
 * @example
 * ```ts
 * import { startWebDemo } from './demo.js'
 *
 * const demo = await startWebDemo({ port: 0, syncPort: 0 })
 * console.log(demo.pageUrl, demo.syncUrl)
 * await demo.stop()
 * ```
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

import { startSyncServer } from '../http-mode.js'
import type { ServerLogRecord, SyncServerProcess } from '../http-mode.js'
import { buildWebApp } from './build.js'
import type { WebAppBuild } from './build.js'
import { startPageServer } from './page-server.js'
import type { PageServer } from './page-server.js'

/** Default port of the page: 8080. */
export const DEFAULT_PAGE_PORT = 8080
/** Default port of the sync server: 8787, as `sync-kit serve`. */
export const DEFAULT_SYNC_PORT = 8787

/** Options of {@link startWebDemo}. */
export interface WebDemoOptions {
  /** The page's port. @defaultValue {@link DEFAULT_PAGE_PORT} */
  readonly port?: number
  /** The sync server's port. @defaultValue {@link DEFAULT_SYNC_PORT} */
  readonly syncPort?: number
  /** The server's SQLite file. @defaultValue `server.db` in a new temporary folder */
  readonly db?: string
  /** Receives the sync server's log records. @defaultValue ignore */
  readonly onLog?: (record: ServerLogRecord) => void
  /** More `sync-kit serve` flags, e.g. `['--auth-tokens', file]`. @defaultValue none */
  readonly serverArgs?: readonly string[]
}

/** A running demo. */
export interface WebDemo {
  /** The page, `http://127.0.0.1:<port>/`. */
  readonly pageUrl: string
  /** The sync server. */
  readonly syncUrl: string
  /** The build that is served. */
  readonly build: WebAppBuild
  /** The sync server process. */
  readonly server: SyncServerProcess
  /**
   * Stops the sync server gracefully and the page server, and deletes the temporary folder.
   * @returns the sync server's exit code (0 after a clean shutdown).
   */
  stop(): Promise<number | null>
}

/**
 * Builds the app and starts both servers.
 * @param options - ports, database, log sink.
 * @returns the running demo.
 * @throws the build's errors, `EADDRINUSE` for a page port in use, and SyncKitError `internal`
 * when the sync server does not start (its stderr in the message).
 */
export async function startWebDemo(options: WebDemoOptions = {}): Promise<WebDemo> {
  const folder = await mkdtemp(join(tmpdir(), 'sync-kit-web-demo-'))
  let page: PageServer | undefined
  try {
    const build = await buildWebApp({ outDir: join(folder, 'page') })
    let syncUrl = ''
    page = await startPageServer({
      dir: build.outDir,
      port: options.port ?? DEFAULT_PAGE_PORT,
      syncUrl: () => syncUrl,
    })
    const server = await startSyncServer({
      db: options.db ?? join(folder, 'server.db'),
      port: options.syncPort ?? DEFAULT_SYNC_PORT,
      // The page's origin as printed, and as `localhost`, which a browser treats as another one.
      args: [
        '--cors',
        page.origin,
        '--cors',
        page.origin.replace('//127.0.0.1:', '//localhost:'),
        ...(options.serverArgs ?? []),
      ],
      detached: true,
      ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
    })
    syncUrl = server.url
    const running = page
    return {
      pageUrl: page.url,
      syncUrl,
      build,
      server,
      stop: async () => {
        const exit = await server.stop('SIGTERM')
        await running.close()
        await rm(folder, { recursive: true, force: true })
        return exit.code
      },
    }
  } catch (error) {
    await page?.close()
    await rm(folder, { recursive: true, force: true })
    throw error
  }
}

async function runFromCommandLine(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PAGE_PORT) },
      'sync-port': { type: 'string', default: String(DEFAULT_SYNC_PORT) },
      db: { type: 'string' },
    },
  })
  const port = (name: string, value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 0 || n > 65_535) {
      console.error(`demo:web: --${name} must be a port from 0 to 65535, got ${value}`)
      process.exit(2)
    }
    return n
  }
  console.error('[demo:web] building the page and starting sync-kit serve…')
  const demo = await startWebDemo({
    port: port('port', values.port),
    syncPort: port('sync-port', values['sync-port']),
    ...(values.db === undefined ? {} : { db: values.db }),
    onLog: (record) => {
      if (record['level'] === 'error' || record['level'] === 'warn')
        console.error(JSON.stringify(record))
    },
  })
  const app = demo.build.files.find((file) => file.name === 'app.js')
  console.log(
    `sync-kit web demo: open ${demo.pageUrl} (in two windows, or ?db=device-2 for a second device)`,
  )
  console.log(
    `  sync server ${demo.syncUrl} (--cors ${new URL(demo.pageUrl).origin}, and its localhost)`,
  )
  console.log(`  app.js ${app?.bytes ?? 0} B, ${app?.gzipBytes ?? 0} B gzip · Ctrl-C stops`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.error(`[demo:web] ${signal}: stopping`)
    demo.stop().then(
      (code) => process.exit(code === 0 ? 0 : 1),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runFromCommandLine().catch((error: unknown) => {
    console.error(`demo:web: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
}
