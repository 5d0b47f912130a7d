/**
 * The demo's `--transport http`, `--transport ws` and `--store sqlite` modes: runs the `sync-kit serve` CLI as a
 * child process (spawns it, waits for its `listening` record, keeps reading its logs, stops it
 * with SIGTERM and restarts it on the same port and database) and builds the replicas' SQLite
 * stores and HTTP transports for the trace replay.
 *
 * @example
 * ```ts
 * import { startSyncServer } from './http-mode.js'
 *
 * const server = await startSyncServer({ db: '/tmp/demo/server.db' })
 * console.log(server.url) // http://127.0.0.1:40123
 * await server.restart() // same url, same database
 * await server.stop()
 * ```
 *
 * @module
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'

import { SyncKitError, createLoopbackHub, createMemoryStore } from 'sync-kit'
import type { EventStore, Transport } from 'sync-kit'
import { openSqliteStore } from 'sync-kit/sqlite'
import { createHttpTransport } from 'sync-kit/http'
import { createWebSocketTransport } from 'sync-kit/ws'
import type { ReplicaSetup } from './traces/replay.js'

/**
 * The folder above `examples/`: the repository root (the CLI runs from the source there, through
 * `tsx`), or the app the examples were copied into.
 */
export const REPO_ROOT: string = fileURLToPath(new URL('..', import.meta.url))

/** Runs the CLI from the source: `node --import tsx src/cli/main.ts`. */
export const SOURCE_CLI_COMMAND: readonly string[] = [
  process.execPath,
  '--import',
  'tsx',
  'src/cli/main.ts',
]

/**
 * The command of the CLI the process runs by default: in the sync-kit checkout, the source
 * ({@link SOURCE_CLI_COMMAND}, no build needed); in a copy of the examples, the `sync-kit`
 * executable of the installed package (its package.json `bin`), as an app runs it.
 * @returns the program and its first arguments, before `serve`.
 */
export function defaultCliCommand(): readonly string[] {
  if (existsSync(join(REPO_ROOT, 'src', 'cli', 'main.ts'))) return SOURCE_CLI_COMMAND
  const manifest = createRequire(import.meta.url).resolve('sync-kit/package.json')
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }
  return [process.execPath, join(dirname(manifest), bin['sync-kit'] ?? 'dist/cli/main.js')]
}

/** Default time the server gets to print `listening`: 30 s (tsx compiles the source first). */
export const DEFAULT_START_TIMEOUT_MS = 30_000

/** How many stderr lines are kept for error messages. */
const STDERR_TAIL = 20

/** One parsed log record of the server. */
export type ServerLogRecord = Readonly<Record<string, unknown>>

/** Options of {@link startSyncServer}. */
export interface SyncServerProcessOptions {
  /** The `--db` of the server: a SQLite file path (kept across restarts) or `':memory:'`. */
  readonly db: string
  /** The `--port`; `0` picks a free one, which restarts then reuse. @defaultValue `0` */
  readonly port?: number
  /** More `serve` flags, e.g. `['--heartbeat', '1000']`. @defaultValue none */
  readonly args?: readonly string[]
  /**
   * The command that runs the CLI, before `serve`.
   * @defaultValue {@link defaultCliCommand}, in {@link REPO_ROOT}
   */
  readonly command?: readonly string[]
  /** Receives every log record the server writes (stdout and stderr). @defaultValue ignore */
  readonly onLog?: (record: ServerLogRecord) => void
  /** Time the server gets to print `listening`. @defaultValue {@link DEFAULT_START_TIMEOUT_MS} */
  readonly startTimeoutMs?: number
  /**
   * Runs the server in a process group of its own, so a Ctrl-C in the terminal reaches only the
   * parent, which then stops the server once (a second signal would force its exit).
   * @defaultValue `false`
   */
  readonly detached?: boolean
}

/** How the server process ended. */
export interface ServerExit {
  /** The exit code, or `null` when a signal killed it. */
  readonly code: number | null
  /** The signal that killed it, or `null`. */
  readonly signal: NodeJS.Signals | null
}

/** A running `sync-kit serve` child process. */
export interface SyncServerProcess {
  /** The URL clients connect to (the `url` of the `listening` record); stable across restarts. */
  readonly url: string
  /** The TCP port. */
  readonly port: number
  /** The current process id (changes on restart). */
  readonly pid: number
  /** Number of times the server was started (1, then 2 after one restart, …). */
  readonly starts: number
  /**
   * Sends `signal` and waits for the process to end.
   * @param signal - the shutdown signal. @defaultValue `'SIGTERM'`
   * @returns how it ended (code 0 after a graceful shutdown).
   */
  stop(signal?: 'SIGTERM' | 'SIGINT'): Promise<ServerExit>
  /**
   * Stops the server gracefully and starts it again on the same port and database.
   * @throws SyncKitError `internal` when the old process did not exit 0 or the new one fails to
   * start.
   */
  restart(): Promise<void>
}

interface Running {
  readonly child: ChildProcess
  readonly url: string
  readonly port: number
  readonly exited: Promise<ServerExit>
}

/**
 * Starts `sync-kit serve --db <db> --port <port>` as a child process and resolves once it
 * listens.
 * @param options - database, port, extra flags, command, log sink, start timeout.
 * @returns the running server.
 * @throws SyncKitError `internal` when the process exits or stays silent before `listening`
 * (the message carries the end of its stderr).
 * @example
 * ```ts
 * import { startSyncServer } from './http-mode.js'
 * import { createHttpTransport } from 'sync-kit/http'
 *
 * const server = await startSyncServer({ db: ':memory:' })
 * const transport = createHttpTransport({ url: server.url })
 * await transport.push([{ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }])
 * await server.stop()
 * ```
 */
export async function startSyncServer(
  options: SyncServerProcessOptions,
): Promise<SyncServerProcess> {
  let running = await launch(options, options.port ?? 0)
  let starts = 1
  const stop = async (signal: 'SIGTERM' | 'SIGINT' = 'SIGTERM'): Promise<ServerExit> => {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill(signal)
    }
    return running.exited
  }
  return {
    get url() {
      return running.url
    },
    get port() {
      return running.port
    },
    get pid() {
      return running.child.pid ?? -1
    },
    get starts() {
      return starts
    },
    stop,
    restart: async () => {
      const exit = await stop('SIGTERM')
      if (exit.code !== 0) {
        throw new SyncKitError(
          'internal',
          `[sync-kit] [http-mode] the server did not shut down cleanly (code ${String(exit.code)}, signal ${String(exit.signal)})`,
          {},
        )
      }
      running = await launch(options, running.port)
      starts++
    },
  }
}

async function launch(options: SyncServerProcessOptions, port: number): Promise<Running> {
  const [program, ...prefix] = options.command ?? defaultCliCommand()
  if (program === undefined) {
    throw new SyncKitError('invalid-argument', '[sync-kit] [http-mode] command is empty', {
      argument: 'command',
    })
  }
  const args = [
    ...prefix,
    'serve',
    '--db',
    options.db,
    '--port',
    String(port),
    ...(options.args ?? []),
  ]
  const child = spawn(program, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  })
  // 'close' rather than 'exit': it comes after the last stdout and stderr lines.
  const exited = new Promise<ServerExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
  const stderrTail: string[] = []
  const onLog = options.onLog ?? ((): void => undefined)
  let ready!: (record: ServerLogRecord) => void
  const listening = new Promise<ServerLogRecord>((resolve) => (ready = resolve))
  // Both streams are read to their end: a child blocked on a full pipe would stop serving.
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    stderrTail.push(line)
    if (stderrTail.length > STDERR_TAIL) stderrTail.shift()
    const record = parseRecord(line)
    if (record !== undefined) onLog(record)
  })
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const record = parseRecord(line)
    if (record === undefined) return
    onLog(record)
    if (record['msg'] === 'listening') ready(record)
  })

  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
  let timer: ReturnType<typeof setTimeout> | undefined
  const outcome = await Promise.race([
    listening.then((record) => ({ kind: 'listening' as const, record })),
    exited.then((exit) => ({ kind: 'exited' as const, exit })),
    new Promise<{ kind: 'timeout' }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs)
    }),
  ])
  clearTimeout(timer)
  if (outcome.kind === 'listening') {
    const url = outcome.record['url']
    const actualPort = outcome.record['port']
    if (typeof url !== 'string' || typeof actualPort !== 'number') {
      child.kill('SIGKILL')
      throw new SyncKitError(
        'internal',
        '[sync-kit] [http-mode] the listening record has no url or port',
        {},
      )
    }
    return { child, url, port: actualPort, exited }
  }
  if (outcome.kind === 'timeout') child.kill('SIGKILL')
  await exited
  const why =
    outcome.kind === 'timeout'
      ? `did not print "listening" within ${timeoutMs} ms`
      : `exited with code ${String(outcome.exit.code)} before listening`
  throw new SyncKitError(
    'internal',
    `[sync-kit] [http-mode] the sync server (${[program, ...args].join(' ')}) ${why}; its stderr ends with:\n${stderrTail.join('\n')}`,
    {},
  )
}

function parseRecord(line: string): ServerLogRecord | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const parsed = JSON.parse(line) as unknown
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as ServerLogRecord)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * How the demo's replicas reach each other: an in-process hub, or a real server process over HTTP
 * + SSE or over WebSocket.
 */
export type DemoTransportKind = 'loopback' | 'http' | 'ws'
/** Where the demo's replicas keep their events. */
export type DemoStoreKind = 'memory' | 'sqlite'
/** The `--transport` values. */
export const DEMO_TRANSPORTS: readonly DemoTransportKind[] = ['loopback', 'http', 'ws']
/** The `--store` values. */
export const DEMO_STORES: readonly DemoStoreKind[] = ['memory', 'sqlite']

/** Options of {@link createDemoSetup}. */
export interface DemoSetupOptions {
  /**
   * `loopback` (in process), or `http` or `ws` (a `sync-kit serve` child process on a SQLite file,
   * reached over HTTP + SSE or over WebSocket).
   */
  readonly transport: DemoTransportKind
  /** `memory` or `sqlite` (each replica its own database file). */
  readonly store: DemoStoreKind
  /** Receives progress lines (server restarts, server warnings). @defaultValue ignore */
  readonly onProgress?: (line: string) => void
  /** Where the temporary directory for database files is made. @defaultValue `os.tmpdir()` */
  readonly tmpDir?: string
}

/** A {@link ReplicaSetup} that owns files and processes: close it after the replay. */
export interface DemoSetup extends ReplicaSetup {
  /** The directory holding the database files (deleted by `close`), if any. */
  readonly directory: string | undefined
  /** The sync server process, in `http` mode. */
  readonly server: SyncServerProcess | undefined
  /**
   * Closes the transports and stores, stops the server, deletes the directory. Idempotent.
   * @throws SyncKitError `internal` when the server did not shut down cleanly (after cleaning
   * up everything else).
   */
  close(): Promise<void>
}

/**
 * SQLite `synchronous` of the demo's databases: `normal`. Commits stay atomic and survive a
 * process crash; only a power loss may drop the newest commits, which scratch files of a demo can
 * afford. `full` syncs the disk on each of the 100 000s of single-event commits the replay makes.
 */
export const DEMO_SQLITE_SYNCHRONOUS = 'normal'

/**
 * Builds the replicas' stores and transports for `runTraceDemo`: for `http`, starts a
 * `sync-kit serve` child process on a SQLite file in a new temporary directory, gives each
 * replica an HTTP transport to it, and restarts the server once when the replay is halfway; for
 * `sqlite`, gives each replica its own database file in that directory.
 * @param options - transport and store kinds, a progress sink.
 * @returns the setup, or `undefined` for `loopback` + `memory` (the replay's own default).
 * @throws SyncKitError `internal` when the server does not start.
 * @example
 * ```ts
 * import { createDemoSetup } from './http-mode.js'
 * import { runTraceDemo } from './traces/replay.js'
 *
 * const setup = await createDemoSetup({ transport: 'http', store: 'sqlite' })
 * try {
 *   const result = await runTraceDemo({ trace: 'examples/data/sequential-friendsforever_flat.json.gz', setup })
 *   console.log(result.converged)
 * } finally {
 *   await setup?.close()
 * }
 * ```
 */
export async function createDemoSetup(options: DemoSetupOptions): Promise<DemoSetup | undefined> {
  if (options.transport === 'loopback' && options.store === 'memory') return undefined
  const report = options.onProgress ?? ((): void => undefined)
  const directory = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'sync-kit-demo-'))
  const stores: EventStore[] = []
  const transports: Transport[] = []
  let server: SyncServerProcess | undefined
  try {
    if (options.transport !== 'loopback') {
      server = await startSyncServer({
        db: join(directory, 'server.db'),
        args: ['--synchronous', DEMO_SQLITE_SYNCHRONOUS],
        onLog: (record) => {
          // Request records at info level are the normal traffic; show anything worse.
          if (record['level'] !== 'info') report(`[sync-server] ${JSON.stringify(record)}`)
        },
      })
      report(`[trace-demo] sync server ${server.url} (pid ${server.pid}) on ${directory}/server.db`)
    }
  } catch (error) {
    await rm(directory, { recursive: true, force: true })
    throw error
  }
  const hub = createLoopbackHub()
  const running = server
  let closed: Promise<void> | undefined

  return {
    name: `${options.store} replicas, ${options.transport === 'loopback' ? 'loopback hub' : `${options.transport} server process on sqlite`}`,
    directory,
    server,
    replica: async (nodeId) => {
      const store =
        options.store === 'sqlite'
          ? await openSqliteStore({
              path: join(directory, `${nodeId}.db`),
              synchronous: DEMO_SQLITE_SYNCHRONOUS,
            })
          : createMemoryStore()
      stores.push(store)
      const transport =
        running === undefined
          ? hub.connect(nodeId)
          : options.transport === 'ws'
            ? createWebSocketTransport({ url: running.url.replace(/^http/, 'ws'), WebSocket })
            : createHttpTransport({ url: running.url })
      transports.push(transport)
      return { store, transport }
    },
    ...(running === undefined
      ? {}
      : {
          halfway: async () => {
            const before = running.pid
            const started = performance.now()
            await running.restart()
            report(
              `[trace-demo] restarted the sync server halfway (pid ${before} → ${running.pid}) in ${Math.round(performance.now() - started)} ms`,
            )
          },
        }),
    close: () => {
      closed ??= (async () => {
        for (const transport of transports) await transport.close()
        for (const store of stores) await store.close()
        const exit = await running?.stop('SIGTERM')
        await rm(directory, { recursive: true, force: true })
        if (exit !== undefined && exit.code !== 0) {
          throw new SyncKitError(
            'internal',
            `[sync-kit] [http-mode] the sync server did not shut down cleanly (code ${String(exit.code)}, signal ${String(exit.signal)})`,
            {},
          )
        }
      })()
      return closed
    },
  }
}
