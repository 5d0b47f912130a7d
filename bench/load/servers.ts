/**
 * The servers a load run drives, behind one seam: a {@link ServerLauncher} starts them and
 * returns their URLs (clients are spread over them round-robin), their process ids (sampled for
 * RSS and CPU) and the wire counters it keeps from their request logs. Two launchers: one
 * `sync-kit serve` on a SQLite file, or N `sync-kit serve --db postgres://…` instances on one
 * PostgreSQL database (issue 12); nothing else in the load test changes.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'

import pg from 'pg'

import { REPO_ROOT, startSyncServer } from '../../examples/http-mode.js'
import type { ServerLogRecord, SyncServerProcess } from '../../examples/http-mode.js'
import { Histogram } from './histogram.js'
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
  /** Counters kept from the request logs, live, summed over the instances. */
  readonly wire: WireCounters
  /** The same counters per instance (same order as `urls`). */
  readonly wireByInstance: readonly WireCounters[]
  /**
   * The servers' own time for each successful push, ms: the request record's `ms` (from the
   * handler receiving the request to its response, the store's write included), all instances.
   */
  readonly pushHandling: Histogram
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
  /** The PostgreSQL server (`postgres://…`) a PostgreSQL launcher creates its database on. */
  readonly pgUrl?: string | undefined
  /**
   * Run the servers under the V8 CPU profiler, writing their `.cpuprofile` files here (named
   * with each server's pid) when they exit.
   */
  readonly profileDir?: string | undefined
}

/**
 * The command that runs the built CLI, under the CPU profiler when asked.
 * @param profileDir - where the profile goes, if any.
 * @returns the command, before `serve`.
 */
function cliCommand(profileDir: string | undefined): string[] {
  const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
  return [process.execPath, ...profile, BUILT_CLI]
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
 * @param pushHandling - gets the `ms` of each successful push's record.
 */
export function countLogRecord(
  wire: WireCounters,
  record: ServerLogRecord,
  pushHandling?: Histogram,
): void {
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
    if (typeof record['ms'] === 'number') pushHandling?.record(record['ms'])
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
  const pushHandling = new Histogram()
  let server: SyncServerProcess
  try {
    server = await startSyncServer({
      db: join(dir, 'server.db'),
      command: cliCommand(options.profileDir),
      onLog: (record) => countLogRecord(wire, record, pushHandling),
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
    wireByInstance: [wire],
    pushHandling,
    notes,
    stop: async () => {
      const exit = await server.stop('SIGTERM')
      await rm(dir, { recursive: true, force: true })
      return [exit.code]
    },
  }
}

const NO_POSTGRES =
  '[sync-kit] [load] --store postgres needs a PostgreSQL server to create its database on: pass --pg-url postgres://user@host:port/db or set SYNC_KIT_TEST_PG (a throwaway one: eval "$(scripts/start-postgres.sh)")'

/**
 * N `sync-kit serve` processes (the built CLI) on one new PostgreSQL database, created on the
 * server `pgUrl` names and dropped after the run; each on 127.0.0.1 on a free port, with the
 * CLI's defaults (a pool of 10 connections per instance, log level info: their request records
 * are the wire counters, per instance and summed). Each instance's connections carry its name
 * (`application_name=sync-kit-load-<n>`).
 * @param options - instances, progress sink, the PostgreSQL server.
 * @returns the running servers.
 * @throws Error without a PostgreSQL server, or when an instance does not start.
 */
export const launchPostgresServers: ServerLauncher = async (options) => {
  if (options.pgUrl === undefined || options.pgUrl === '') throw new Error(NO_POSTGRES)
  const notes = ensureBuiltCli(options.progress)
  const name = `sync_kit_load_${Date.now()}_${randomBytes(3).toString('hex')}`
  const admin = new pg.Client({ connectionString: options.pgUrl })
  await admin.connect()
  const drop = async (): Promise<void> => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined)
    await admin.end().catch(() => undefined)
  }
  await admin.query(`CREATE DATABASE "${name}"`)
  const wireByInstance = Array.from({ length: options.instances }, emptyWireCounters)
  const wire = emptyWireCounters()
  const pushHandling = new Histogram()
  let servers: SyncServerProcess[]
  try {
    servers = await Promise.all(
      wireByInstance.map((own, i) => {
        const db = new URL(options.pgUrl as string)
        db.pathname = `/${name}`
        db.searchParams.set('application_name', `sync-kit-load-${i + 1}`)
        return startSyncServer({
          db: db.toString(),
          command: cliCommand(options.profileDir),
          onLog: (record) => {
            countLogRecord(own, record)
            countLogRecord(wire, record, pushHandling)
          },
        })
      }),
    )
  } catch (error) {
    await drop()
    throw error
  }
  const shown = new URL(options.pgUrl)
  shown.password = ''
  shown.pathname = `/${name}`
  return {
    description: `${options.instances} × sync-kit serve (${BUILT_CLI}) on one PostgreSQL database (${shown.toString()}; pool 10 per instance, log level info)`,
    urls: servers.map((s) => s.url),
    pids: servers.map((s) => s.pid),
    wire,
    wireByInstance,
    pushHandling,
    notes,
    stop: async () => {
      const exits = await Promise.all(servers.map((s) => s.stop('SIGTERM')))
      await drop()
      return exits.map((exit) => exit.code)
    },
  }
}

/**
 * The launcher for a store and a number of instances.
 * @param store - `sqlite` (one instance) or `postgres` (any number, on one database).
 * @param instances - server processes.
 * @param pgUrl - the PostgreSQL server for `postgres`.
 * @returns the launcher.
 * @throws Error for several SQLite instances, and for `postgres` without a server.
 */
export function launcherFor(
  store: LoadStoreKind,
  instances: number,
  pgUrl?: string,
): ServerLauncher {
  if (store === 'sqlite') {
    if (instances !== 1) throw new Error(SQLITE_ONE_INSTANCE)
    return launchSqliteServer
  }
  if (pgUrl === undefined || pgUrl === '') throw new Error(NO_POSTGRES)
  return (options) => launchPostgresServers({ ...options, pgUrl })
}
