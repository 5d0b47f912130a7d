/**
 * The command line of `npm run load` (bench/load/load.ts), parsed strictly: an unknown flag or a
 * value out of range is a usage error (exit code 2).
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'

/** Where the server keeps its log. */
export type LoadStoreKind = 'sqlite' | 'postgres'

/** The options of one load run, defaults filled in. */
export interface LoadOptions {
  /** Live clients (SyncManagers), 1 … 2,000. */
  readonly clients: number
  /** Events each client records per second, > 0. */
  readonly rate: number
  /** How long the clients record, seconds. */
  readonly durationS: number
  /** Aggregates the clients edit (shared by all, so edits are concurrent). @defaultValue 10 */
  readonly aggregates: number
  /**
   * Worker processes the clients are spread over. @defaultValue one per 25 clients, at most the
   * core count (a worker's clients each process every event of every other client: 50 clients in
   * one worker saturated its core on this machine while the server was at 30 %)
   */
  readonly workers: number
  /** Server processes. @defaultValue 1 */
  readonly serverInstances: number
  /** The server's store. @defaultValue `'sqlite'` */
  readonly store: LoadStoreKind
  /**
   * The PostgreSQL server `--store postgres` creates its database on (`--pg-url`).
   * @defaultValue absent: `npm run load` then takes `SYNC_KIT_TEST_PG`
   */
  readonly pgUrl?: string
  /** How long after the writers stop every client must hold every event, seconds. @defaultValue 15 */
  readonly settleTimeoutS: number
  /**
   * After a missed settle timeout, how much longer to keep the clients running to see when (if)
   * they settle and to check the logs then, seconds; the run still fails. @defaultValue 0
   */
  readonly drainTimeoutS: number
  /** Also write the JSON report to this file. */
  readonly json?: string
  /**
   * Run the workers and the servers under the V8 CPU profiler, writing their `.cpuprofile` files
   * here (the report summarises the workers'; a server's file carries its pid, `server.pids`).
   */
  readonly profile?: string
}

/** Usage text of `npm run load -- --help`. */
export const LOAD_USAGE = `Usage: npm run load -- --clients N --rate R --duration S [flags]

Starts a real sync-kit serve (SQLite, a temporary database, the built CLI dist/cli/main.js) or
several on one new PostgreSQL database (--store postgres --server-instances K), drives N live
SyncManager clients (spread over the instances round-robin) over HTTP from worker processes, each recording R events per
second for S seconds on shared aggregates, then checks that every client and the server hold
every recorded event exactly once. One JSON report on stdout, a summary on stderr.

Flags:
  --clients N            live clients (1 … 2000)                              (required)
  --rate R               events per second per client (> 0, e.g. 0.5)          (required)
  --duration S           seconds the clients record (> 0)                      (required)
  --aggregates K         aggregates shared by all clients                      (default: 10)
  --workers W            worker processes holding the clients  (default: ceil(N/25), ≤ cores)
  --settle-timeout S     seconds after the writers stop for every client to hold every
                         event; later is a failure                             (default: 15)
  --drain-timeout S      when they miss it, keep them syncing up to S seconds more to see when
                         they settle, then check; the run still fails            (default: 0)
  --server-instances K   server processes (more than 1 needs --store postgres) (default: 1)
  --store sqlite|postgres
                         the server's store                                    (default: sqlite)
  --pg-url URL           the PostgreSQL server --store postgres creates its database on (dropped
                         afterwards)                          (default: $SYNC_KIT_TEST_PG)
  --json FILE            also write the JSON report to FILE
  --profile DIR          run the workers and servers under the V8 CPU profiler (.cpuprofile files in DIR)
                         and report where the clients' time goes
  -h, --help             show this help

Exit codes: 0 the exactly-once check passed and every client settled in time; 1 it failed or they
did not; 2 bad command line.`

/** A usage error: the message says which flag and why. */
export class LoadUsageError extends Error {
  override readonly name = 'LoadUsageError'
}

/**
 * Parses the arguments after `npm run load --`.
 * @param argv - the arguments.
 * @returns the options, or `'help'`.
 * @throws LoadUsageError for a missing, unknown or out-of-range flag.
 */
export function parseLoadArgs(argv: readonly string[]): LoadOptions | 'help' {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw new LoadUsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  if (values.help === true) return 'help'
  if (positionals.length > 0) throw new LoadUsageError(`unexpected argument ${positionals[0]}`)
  const clients = integer(values.clients, 'clients', undefined, 1, 2_000)
  const cores = availableParallelism()
  const store = values.store ?? 'sqlite'
  if (store !== 'sqlite' && store !== 'postgres') {
    throw new LoadUsageError(`--store must be sqlite or postgres, got ${store}`)
  }
  const options: LoadOptions = {
    clients,
    rate: positive(values.rate, 'rate', undefined),
    durationS: positive(values.duration, 'duration', undefined),
    aggregates: integer(values.aggregates, 'aggregates', 10, 1, 100_000),
    workers: integer(
      values.workers,
      'workers',
      Math.min(cores, Math.ceil(clients / 25)),
      1,
      clients,
    ),
    serverInstances: integer(values['server-instances'], 'server-instances', 1, 1, 64),
    store,
    settleTimeoutS: positive(values['settle-timeout'], 'settle-timeout', 15),
    drainTimeoutS: positive(values['drain-timeout'], 'drain-timeout', 0, true),
    ...pgUrlOption(values['pg-url']),
    ...(values.json === undefined ? {} : { json: values.json }),
    ...(values.profile === undefined ? {} : { profile: values.profile }),
  }
  return options
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      clients: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      aggregates: { type: 'string' },
      workers: { type: 'string' },
      'settle-timeout': { type: 'string' },
      'drain-timeout': { type: 'string' },
      'server-instances': { type: 'string' },
      store: { type: 'string' },
      'pg-url': { type: 'string' },
      json: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  })
}

function pgUrlOption(flag: string | undefined): { pgUrl?: string } {
  return flag === undefined || flag === '' ? {} : { pgUrl: flag }
}

function integer(
  raw: string | undefined,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new LoadUsageError(`--${name} is required`)
    return fallback
  }
  const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : Number.NaN
  if (!(value >= min && value <= max)) {
    throw new LoadUsageError(`--${name} must be an integer in ${min} … ${max}, got ${raw}`)
  }
  return value
}

function positive(
  raw: string | undefined,
  name: string,
  fallback: number | undefined,
  zero = false,
): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new LoadUsageError(`--${name} is required`)
    return fallback
  }
  const value = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : Number.NaN
  if (!((zero ? value >= 0 : value > 0) && value <= 1_000_000)) {
    throw new LoadUsageError(
      `--${name} must be a number ${zero ? 'of 0 or more' : 'above 0'}, got ${raw}`,
    )
  }
  return value
}
