/**
 * The servers a load run drives, behind one seam: a {@link ServerLauncher} starts them and
 * returns their URLs (clients are spread over them round-robin), their process ids (sampled for
 * RSS and CPU) and the wire counters it keeps from their request logs. Today: one `sync-kit serve`
 * on a SQLite file. Issue 12's PostgreSQL server (several instances on one database) adds a
 * launcher here; nothing else in the load test changes.
 *
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'

import { REPO_ROOT, startSyncServer } from '../../examples/http-mode.js'
import type { ServerLogRecord, SyncServerProcess } from '../../examples/http-mode.js'
import type { LoadStoreKind } from './load-options.js'

/** The built CLI the load test runs (not the source: an operator runs the build). */
export const BUILT_CLI = 'dist/cli/main.js'

/** What the servers' request logs say went over the wire, summed over all instances. */
export interface WireCounters {
  /** `POST /v1/events` requests answered 2xx. */
  pushRequests: number
  /** Events in those pushes (what clients sent). */
  pushedEvents: number
  /** Of those, events stored for the first time. */
  storedEvents: number
  /** Of those, events the server already held. */
  duplicateEvents: number
  /** `GET /v1/events` requests answered 2xx. */
  pullRequests: number
  /** Events in those pages (what clients received by pulling). */
  pulledEvents: number
  /** `GET /v1/stream` streams opened. */
  streamsOpened: number
  /** Requests answered 4xx or 5xx, by status. */
  refused: Record<string, number>
  /** Warning and error records that are not request records (first few kept in `messages`). */
  problems: number
  /** The first problem records, as JSON. */
  messages: string[]
}

/** Servers a launcher started. */
export interface LaunchedServers {
  /** What runs, for the report (e.g. `1 × sync-kit serve (dist/cli/main.js) on SQLite`). */
  readonly description: string
  /** The URL of each instance. */
  readonly urls: readonly string[]
  /** The process id of each instance. */
  readonly pids: readonly number[]
  /** Counters kept from the request logs, live. */
  readonly wire: WireCounters
  /** Notes for the report (e.g. that the CLI was built first). */
  readonly notes: readonly string[]
  /**
   * Stops every instance gracefully and removes temporary files.
   * @returns the exit codes (0 after a clean shutdown).
   */
  stop(): Promise<readonly (number | null)[]>
}

/** Options of a launcher. */
export interface LaunchOptions {
  /** Number of server processes. */
  readonly instances: number
  /** Receives progress lines. */
  readonly progress: (line: string) => void
}

/** Starts the servers of a run. */
export type ServerLauncher = (options: LaunchOptions) => Promise<LaunchedServers>

/** Fresh counters. */
export function emptyWireCounters(): WireCounters {
  return {
    pushRequests: 0,
    pushedEvents: 0,
    storedEvents: 0,
    duplicateEvents: 0,
    pullRequests: 0,
    pulledEvents: 0,
    streamsOpened: 0,
    refused: {},
    problems: 0,
    messages: [],
  }
}

/** How many problem records the counters keep whole. */
const KEPT_MESSAGES = 10

/**
 * Counts one log record of `sync-kit serve` (a JSON line) into the counters.
 * @param wire - the counters.
 * @param record - the parsed record.
 */
export function countLogRecord(wire: WireCounters, record: ServerLogRecord): void {
  const num = (key: string): number => {
    const value = record[key]
    return typeof value === 'number' ? value : 0
  }
  if (record['msg'] !== 'request') {
    if (record['level'] !== 'info') {
      wire.problems++
      if (wire.messages.length < KEPT_MESSAGES) wire.messages.push(JSON.stringify(record))
    }
    return
  }
  const status = num('status')
  const path = String(record['path'] ?? '')
  if (status >= 400) {
    wire.refused[String(status)] = (wire.refused[String(status)] ?? 0) + 1
    if (wire.messages.length < KEPT_MESSAGES) wire.messages.push(JSON.stringify(record))
    return
  }
  if (path.endsWith('/v1/events') && record['method'] === 'POST') {
    wire.pushRequests++
    wire.pushedEvents += num('events')
    wire.storedEvents += num('stored')
    wire.duplicateEvents += num('duplicates')
  } else if (path.endsWith('/v1/events')) {
    wire.pullRequests++
    wire.pulledEvents += num('events')
  } else if (path.endsWith('/v1/stream') && record['stream'] === 'open') {
    wire.streamsOpened++
  }
}

/**
 * Makes sure the built CLI exists: runs `npm run build` when `dist/cli/main.js` is missing.
 * @param progress - receives what was done.
 * @returns notes for the report: that it was built, or that it is older than the source.
 */
export function ensureBuiltCli(progress: (line: string) => void): string[] {
  const cli = join(REPO_ROOT, BUILT_CLI)
  if (!existsSync(cli)) {
    progress(`[load] ${BUILT_CLI} is missing: running npm run build first`)
    execFileSync('npm', ['run', 'build'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    return [`${BUILT_CLI} was missing; built with npm run build before the run`]
  }
  const built = statSync(cli).mtimeMs
  const newer = newestSource(join(REPO_ROOT, 'src'))
  if (newer !== undefined && newer.mtimeMs > built) {
    const note = `${BUILT_CLI} is older than ${newer.path}: the server runs the last build (npm run build to refresh it)`
    progress(`[load] warning: ${note}`)
    return [note]
  }
  return []
}

function newestSource(dir: string): { path: string; mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.includes('.test')) continue
    const path = join(entry.parentPath, entry.name)
    const mtimeMs = statSync(path).mtimeMs
    if (newest === undefined || mtimeMs > newest.mtimeMs) newest = { path, mtimeMs }
  }
  return newest === undefined
    ? undefined
    : { path: newest.path.slice(REPO_ROOT.length), mtimeMs: newest.mtimeMs }
}

const SQLITE_ONE_INSTANCE =
  "[sync-kit] [load] --store sqlite runs one server instance (processes on one SQLite file do not wake each other's live streams); several instances need --store postgres (issue 12)"

/**
 * One `sync-kit serve` (the built CLI) on a SQLite file in a new temporary directory, listening on
 * 127.0.0.1 on a free port, with the CLI's defaults (`synchronous` full, log level info: the
 * request records are what the wire counters read).
 * @param options - instances (must be 1: processes on one SQLite file share no live fan-out) and
 * a progress sink.
 * @returns the running server.
 * @throws Error for more than one instance, or when the server does not start.
 */
export const launchSqliteServer: ServerLauncher = async (options) => {
  if (options.instances !== 1) {
    throw new Error(SQLITE_ONE_INSTANCE)
  }
  const notes = ensureBuiltCli(options.progress)
  const dir = await mkdtemp(join(tmpdir(), 'sync-kit-load-'))
  const wire = emptyWireCounters()
  let server: SyncServerProcess
  try {
    server = await startSyncServer({
      db: join(dir, 'server.db'),
      command: [process.execPath, BUILT_CLI],
      onLog: (record) => countLogRecord(wire, record),
    })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    description: `1 × sync-kit serve (${BUILT_CLI}) on a SQLite file (synchronous full, log level info)`,
    urls: [server.url],
    pids: [server.pid],
    wire,
    notes,
    stop: async () => {
      const exit = await server.stop('SIGTERM')
      await rm(dir, { recursive: true, force: true })
      return [exit.code]
    },
  }
}

/**
 * The launcher for a store and a number of instances.
 * @param store - `sqlite` (one instance) or `postgres`.
 * @param instances - server processes.
 * @returns the launcher.
 * @throws Error for `postgres` (issue 12's multi-instance PostgreSQL server does not exist yet)
 * and for several SQLite instances.
 */
export function launcherFor(store: LoadStoreKind, instances: number): ServerLauncher {
  if (store === 'sqlite') {
    if (instances !== 1) throw new Error(SQLITE_ONE_INSTANCE)
    return launchSqliteServer
  }
  throw new Error(
    "[sync-kit] [load] --store postgres is not available yet: it needs issue 12's server (sync-kit serve --db postgres://…, several instances on one database); until then use --store sqlite",
  )
}
