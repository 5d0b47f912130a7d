/**
 * `sync-kit serve`: the HTTP sync server (`createSyncHandler` on `node:http`, and WebSocket clients
 * on the same port unless `--no-websocket`) over a SQLite event store or a PostgreSQL one
 * (`--db postgres://…`, several instances on one database), with JSON-lines logs and graceful
 * shutdown on SIGINT/SIGTERM.
 *
 * @example
 * ```ts
 * import { runServe } from './serve-command.js'
 * import { parseCliArgs } from './cli-args.js'
 * import { createCliLog } from './json-log.js'
 *
 * const command = parseCliArgs(['serve', '--db', ':memory:', '--port', '0'])
 * if (command.kind === 'serve') {
 *   process.exitCode = await runServe(command.options, {
 *     log: createCliLog({ stdout: console.log, stderr: console.error }),
 *     onSignal: (listener) => {
 *       process.on('SIGTERM', listener)
 *       return () => process.off('SIGTERM', listener)
 *     },
 *     exit: (code) => process.exit(code),
 *     version: '0.1.0',
 *   })
 * }
 * ```
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { resolve } from 'node:path'

import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { EventStore } from '../types/index.js'
import { createSyncHandler } from '../transports/http/index.js'
import type { SyncHandler } from '../transports/http/index.js'
import { serve } from '../transports/http/node.js'
import type { RunningServer } from '../transports/http/node.js'
import type { WebSocketServerOptions, WebSocketSyncServer } from '../transports/ws/node.js'
import { readAuthTokens } from './auth-tokens.js'
import type { AuthTokens } from './auth-tokens.js'
import { type ServeCommandOptions, isPostgresUrl } from './cli-args.js'
import { errorFields } from './json-log.js'
import type { CliLog } from './json-log.js'
import { openServeStore } from './open-store.js'
import type { OpenedStore } from './open-store.js'

/** Exit code: the server ran and shut down cleanly. */
export const EXIT_OK = 0
/** Exit code: a runtime failure (port in use, database unusable, forced or failed shutdown). */
export const EXIT_FAILURE = 1
/** Exit code: a bad command line (unknown flag, value out of range, missing directory). */
export const EXIT_USAGE = 2

/**
 * How long past `--shutdown-timeout` the whole shutdown may take (closing the database included)
 * before the process gives up and exits with {@link EXIT_FAILURE}.
 */
export const SHUTDOWN_GRACE_MS = 5_000

/** What {@link runServe} needs from its environment (the process, in `main.ts`). */
export interface ServeDependencies {
  /** Where records go. */
  readonly log: CliLog
  /**
   * Subscribes to shutdown signals (SIGINT, SIGTERM).
   * @param listener - called with the signal's name.
   * @returns an unsubscribe function.
   */
  readonly onSignal: (listener: (signal: string) => void) => () => void
  /**
   * Ends the process at once; called on a second signal and when the shutdown misses its
   * deadline.
   * @param code - the exit code.
   */
  readonly exit: (code: number) => void
  /** The sync-kit version, for the `listening` record. */
  readonly version: string
  /** Base of a relative `--db`. @defaultValue `process.cwd()` */
  readonly cwd?: string
  /** Loads the `pg` module for a PostgreSQL `--db` (tests). @defaultValue `import('pg')` */
  readonly importPg?: () => Promise<unknown>
  /**
   * Loads the WebSocket server (`sync-kit/ws/node`, which needs the optional peer `ws`) unless
   * `--no-websocket` (tests). @defaultValue `import('../transports/ws/node.js')`
   */
  readonly importWebSocketServer?: () => Promise<WebSocketServerModule>
}

/**
 * Runs the sync server until SIGINT or SIGTERM, then shuts it down gracefully: stops accepting
 * connections, answers new requests with 503, ends live streams, lets in-flight requests finish
 * (up to `shutdownTimeoutMs`, after which their connections are closed), closes the database.
 *
 * Writes `listening` (with the `url` clients connect to), one `request` record per request,
 * `shutting down`, and `stopped`; failures as `error` records with `code` and `message`.
 *
 * @param options - the parsed `serve` flags.
 * @param deps - logger, signal source, exit and version.
 * @returns the exit code once the server has stopped: {@link EXIT_OK} after a clean shutdown,
 * {@link EXIT_FAILURE} when it could not start or the database failed to close,
 * {@link EXIT_USAGE} when `--db` names a missing directory.
 * @example
 * ```ts
 * import { runServe } from './serve-command.js'
 * import { createCliLog } from './json-log.js'
 *
 * const code = await runServe(
 *   {
 *     db: 'sync.db', port: 8787, host: '127.0.0.1', basePath: '', shutdownTimeoutMs: 10_000,
 *     heartbeatMs: 15_000, synchronous: 'full', logLevel: 'info',
 *   },
 *   {
 *     log: createCliLog({ stdout: console.log, stderr: console.error }),
 *     onSignal: (listener) => {
 *       process.once('SIGINT', listener)
 *       return () => process.off('SIGINT', listener)
 *     },
 *     exit: (code) => process.exit(code),
 *     version: '0.1.0',
 *   },
 * )
 * ```
 */
export async function runServe(
  options: ServeCommandOptions,
  deps: ServeDependencies,
): Promise<number> {
  const { log } = deps
  const started = performance.now()
  let shuttingDown = false
  let signalled: ((signal: string) => void) | undefined
  const firstSignal = new Promise<string>((resolveSignal) => (signalled = resolveSignal))
  const unsubscribe = deps.onSignal((signal) => {
    if (!shuttingDown) {
      shuttingDown = true
      signalled?.(signal)
      return
    }
    log.warn('forced exit', { signal, reason: 'a second signal arrived during the shutdown' })
    deps.exit(EXIT_FAILURE)
  })

  try {
    // The token file is read once, here, before the database is opened: a bad file stops the
    // start (exit code 2) with the file and the problem named.
    let tokens: AuthTokens | undefined
    if (options.authTokens !== undefined) {
      const file = resolve(deps.cwd ?? process.cwd(), options.authTokens)
      try {
        tokens = readAuthTokens(file)
      } catch (error) {
        log.error('start failed', { ...errorFields(error), file })
        return isSyncKitError(error, 'invalid-argument') ? EXIT_USAGE : EXIT_FAILURE
      }
      for (const warning of tokens.warnings) log.warn('auth tokens readable', { reason: warning })
    }
    if (options.cors === '*') {
      log.warn('cors allows every origin', {
        reason:
          "--cors * lets a page of any web site call this server from its visitors' browsers; list the origins of your app instead (--cors https://app.example.com)",
      })
    }
    const opened = await openServeStore(options, {
      cwd: deps.cwd ?? process.cwd(),
      warn: (msg, fields) => log.warn(msg, fields),
      ...(deps.importPg === undefined ? {} : { importPg: deps.importPg }),
    })
    if (opened.kind === 'failed') {
      log.error('start failed', opened.fields)
      return opened.usage ? EXIT_USAGE : EXIT_FAILURE
    }
    const { store, db } = opened

    let handler: SyncHandler
    let server: RunningServer
    const requests = new Set<ServerResponse>()
    let epoch: string
    try {
      handler = createSyncHandler({
        store,
        basePath: options.basePath,
        heartbeatMs: options.heartbeatMs,
        logger: log.request,
        // One server on a SQLite file writes (nearly) everything: streams take its pushes as
        // they are. Several servers share a PostgreSQL database: streams read it.
        soleWriter: !isPostgresUrl(db),
        // One transaction (one fsync) for the pushes read together: better-sqlite3 holds the
        // event loop through each commit (docs/server.md, "Group commit").
        groupCommit: !isPostgresUrl(db),
        ...(options.cors === undefined ? {} : { cors: { origins: options.cors } }),
        // Tokens name their tenant; events must name it too (the SyncManager keeps its own copy
        // of each event, which must equal the stored one), see docs/protocol.md "Tenants".
        ...(tokens === undefined
          ? {}
          : { authorize: tokens.authorize, tenantOf: tokens.tenantOf, requireTenant: true }),
        ...defined({
          maxStreams: options.maxStreams,
          maxBufferedBodyBytes: options.maxBufferedBodyBytes,
          maxDriftMs: options.maxDriftMs,
        }),
      })
      // Reads or creates the epoch now, atomically (servers started together on a new database
      // agree on one), then writes the start time beside the log, so that a database that can
      // only be read fails the start instead of every push.
      epoch = await handler.epoch()
      await checkWritable(store, db)
      const upgrade =
        options.websocket === false
          ? undefined
          : await webSocketUpgrade(handler, options, deps, log)
      server = await serve({
        handler,
        port: options.port,
        host: options.host,
        closeTimeoutMs: options.shutdownTimeoutMs,
        // WebSocket clients (sync-kit/ws) on <base>/v1/ws of the same port, on the same core.
        ...(upgrade === undefined ? {} : { upgrade }),
        onError: (error) => log.error('request failed', errorFields(error)),
        // Requests refused before the handler (parser errors, timeouts, dropped connections, a
        // shutdown under way) are logged as `request` records too.
        logger: log.request,
        ...defined({
          maxConnections: options.maxConnections,
          headersTimeoutMs: options.headersTimeoutMs,
          requestTimeoutMs: options.requestTimeoutMs,
          bodyIdleTimeoutMs: options.bodyIdleTimeoutMs,
        }),
      })
    } catch (error) {
      log.error('start failed', { ...errorFields(error), db })
      await closeStore(opened, log)
      return isSyncKitError(error, 'invalid-argument') ? EXIT_USAGE : EXIT_FAILURE
    }
    // Counts open requests (live streams included) so the shutdown can report any it cut off.
    server.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      requests.add(res)
      res.once('close', () => requests.delete(res))
    })

    log.info('listening', {
      url: server.url + options.basePath,
      ...(options.websocket === false
        ? {}
        : { websocket: `${server.url.replace(/^http/, 'ws')}${options.basePath}/v1/ws` }),
      host: options.host,
      port: server.port,
      db,
      ...(options.cors === undefined ? {} : { cors: options.cors }),
      ...(tokens === undefined ? {} : { authTokens: { file: tokens.file, tokens: tokens.count } }),
      epoch,
      version: deps.version,
      pid: process.pid,
      startupMs: Math.round(performance.now() - started),
    })

    const signal = await firstSignal
    const stopping = performance.now()
    log.info('shutting down', {
      signal,
      inFlight: requests.size,
      timeoutMs: options.shutdownTimeoutMs,
    })
    const watchdog = setTimeout(() => {
      log.error('shutdown deadline passed', {
        code: 'timeout',
        message: `[sync-kit] [cli] the shutdown took longer than ${options.shutdownTimeoutMs + SHUTDOWN_GRACE_MS} ms; exiting without waiting further`,
      })
      deps.exit(EXIT_FAILURE)
    }, options.shutdownTimeoutMs + SHUTDOWN_GRACE_MS)
    watchdog.unref?.()
    // Fires just before `server.close()` destroys what is still running at the same deadline
    // (timers of equal delay run in creation order), so it sees exactly the requests cut off.
    const deadline = setTimeout(() => {
      if (requests.size === 0) return
      log.warn('requests cut off', {
        count: requests.size,
        reason: `still running after --shutdown-timeout ${options.shutdownTimeoutMs} ms; their connections are closed`,
      })
    }, options.shutdownTimeoutMs)
    try {
      await server.close()
      const closed = await closeStore(opened, log)
      log.info('stopped', { signal, ms: Math.round(performance.now() - stopping) })
      return closed ? EXIT_OK : EXIT_FAILURE
    } finally {
      clearTimeout(deadline)
      clearTimeout(watchdog)
    }
  } finally {
    unsubscribe()
  }
}

/** The given limits only: absent flags leave the library's defaults (their one home). */
function defined<T extends Record<string, number | undefined>>(
  values: T,
): { [K in keyof T]?: number } {
  const out: { [K in keyof T]?: number } = {}
  for (const key of Object.keys(values) as (keyof T)[]) {
    const value = values[key]
    if (value !== undefined) out[key] = value
  }
  return out
}

/**
 * Writes when this server started (`sync-kit:serve:started`, state beside the log) — a real write,
 * so a database the server may only read (permissions, a read-only mount or directory) fails the
 * start with a clear message rather than every push with 503.
 */
async function checkWritable(store: EventStore, db: string): Promise<void> {
  try {
    await store.setState?.('sync-kit:serve:started', new Date().toISOString())
  } catch (error) {
    throw new SyncKitError(
      'unavailable',
      `[sync-kit] [cli] cannot write to --db ${JSON.stringify(db)} (${error instanceof Error ? error.message : String(error)}); the server needs write access to the file and its directory`,
      {},
      { cause: error },
    )
  }
}

async function closeStore(store: OpenedStore, log: CliLog): Promise<boolean> {
  try {
    await store.close()
    return true
  } catch (error) {
    log.error('database close failed', errorFields(error))
    return false
  }
}

/** What `serve` takes from `sync-kit/ws/node`. */
interface WebSocketServerModule {
  readonly createWebSocketServer: (options: WebSocketServerOptions) => WebSocketSyncServer
}

/**
 * The WebSocket server of `serve` (`<base>/v1/ws` on the same port), loaded on demand: it needs
 * the optional peer `ws`. Without `ws` installed the server still starts, for HTTP + SSE
 * clients, and says so in a `websocket off` warning that names the fix.
 * @param handler - the HTTP handler whose server core the sockets share.
 * @param options - the `--base-path` and `--ws-send-buffer`.
 * @param deps - `importWebSocketServer` (tests).
 * @param log - the CLI log.
 * @returns the upgrade listener, or `undefined` without `ws`.
 * @throws whatever loading the WebSocket server throws for another reason than a missing `ws`.
 */
async function webSocketUpgrade(
  handler: SyncHandler,
  options: Pick<ServeCommandOptions, 'basePath' | 'wsMaxBufferedBytes'>,
  deps: ServeDependencies,
  log: CliLog,
): Promise<WebSocketSyncServer | undefined> {
  let module: WebSocketServerModule
  try {
    module = await (deps.importWebSocketServer ?? (() => import('../transports/ws/node.js')))()
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code !== 'ERR_MODULE_NOT_FOUND' || !String((error as Error).message).includes("'ws'")) {
      throw error
    }
    log.warn('websocket off', {
      reason:
        'WebSocket clients (sync-kit/ws) need the optional peer `ws`: install it next to sync-kit (npm install ws) and start again; HTTP + SSE clients are served meanwhile (--no-websocket silences this)',
    })
    return undefined
  }
  return module.createWebSocketServer({
    handler,
    basePath: options.basePath,
    ...defined({ maxBufferedBytes: options.wsMaxBufferedBytes }),
  })
}
