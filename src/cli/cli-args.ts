/**
 * Flag parsing of the `sync-kit` command: `serve`, `--help`, `--version`. Strict: an unknown flag,
 * a missing value, a stray argument or a value out of range is a usage error (exit code 2).
 *
 * @example
 * ```ts
 * import { parseCliArgs } from './cli-args.js'
 *
 * const command = parseCliArgs(['serve', '--db', './sync.db', '--port', '8787'])
 * // { kind: 'serve', options: { db: './sync.db', port: 8787, host: '127.0.0.1', … } }
 * ```
 *
 * @module
 */
import { parseArgs } from 'node:util'

import { SyncKitError } from '../errors/sync-kit-error.js'
import { originProblem } from '../server/index.js'
import {
  DEFAULT_BODY_BUDGET_WAIT_MS,
  DEFAULT_MAX_BUFFERED_BODY_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_MAX_PAGE_BYTES,
  DEFAULT_MAX_STREAMS,
  DEFAULT_SERVER_MAX_DRIFT_MS,
} from '../transports/http/index.js'
import {
  DEFAULT_BODY_IDLE_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from '../transports/http/node.js'

/** Default `--db`: `sync.db` in the working directory. */
export const DEFAULT_DB_PATH = 'sync.db'
/** Default `--port`: 8787. */
export const DEFAULT_PORT = 8787
/** Default `--host`: `127.0.0.1` (this machine only; use `0.0.0.0` to accept other hosts). */
export const DEFAULT_HOST = '127.0.0.1'
/** Default `--shutdown-timeout`: 10 000 ms for in-flight requests to finish. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000
/** Default `--heartbeat`: 15 000 ms between keep-alive comments on idle live streams. */
export const DEFAULT_CLI_HEARTBEAT_MS = 15_000
/** Longest accepted `--shutdown-timeout`, `--heartbeat` and the other timeouts: one hour. */
export const MAX_CLI_DURATION_MS = 3_600_000
/** Largest `--max-connections` and `--max-streams`. */
export const MAX_CLI_COUNT = 1_000_000
/** Largest `--max-drift`: one year. */
export const MAX_CLI_DRIFT_MS: number = 365 * 24 * 3_600_000
/** Largest `--body-budget` and `--ws-send-buffer`: 1 TiB. */
export const MAX_CLI_BODY_BUDGET_BYTES: number = 2 ** 40

/**
 * Default `--ws-send-buffer`: 8 MiB, the `DEFAULT_MAX_BUFFERED_BYTES` of `sync-kit/ws/node` —
 * not imported, since the CLI starts without the optional peer `ws` (cli-args.test.ts keeps the
 * two equal).
 */
export const DEFAULT_CLI_WS_SEND_BUFFER_BYTES: number = 8 * 1024 * 1024

/** Default `--pg-pool-size`: 10 connections per instance (one of them listens for appends). */
export const DEFAULT_PG_POOL_SIZE = 10
/** Largest `--pg-pool-size`. */
export const MAX_PG_POOL_SIZE = 1000
/** Default `--pg-statement-timeout`: 30 000 ms (`statement_timeout` of every connection). */
export const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 30_000

/**
 * Tells a PostgreSQL `--db` (a `postgres://` or `postgresql://` URL) from a SQLite path.
 * @param db - the `--db` value.
 * @returns true for a PostgreSQL connection URL.
 */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db)
}

/** The log levels of `--log-level`, least severe first. */
export const LOG_LEVELS: readonly ['info', 'warn', 'error'] = ['info', 'warn', 'error']
/** A log level: `info` (everything), `warn` (warnings and errors), `error` (errors only). */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** SQLite `synchronous` settings `--synchronous` accepts. */
export const SYNCHRONOUS_MODES: readonly ['full', 'normal'] = ['full', 'normal']

const COMPONENT = '[sync-kit] [cli]'

/** The top-level help text (`sync-kit --help`). */
export const CLI_USAGE = `Usage: sync-kit <command> [flags]

Commands:
  serve            run the sync-kit HTTP sync server on a SQLite or PostgreSQL database
  epoch            print the epoch of a database, or give a restored one a new epoch

Flags:
  -h, --help       show this help (sync-kit serve --help: the serve flags)
  -v, --version    print the sync-kit version

Exit codes: 0 success, 1 runtime failure, 2 bad command line.`

/** The help text of `sync-kit serve --help`. */
// isolatedDeclarations needs the annotation: the template has substitutions.
// eslint-disable-next-line @typescript-eslint/no-inferrable-types
export const SERVE_USAGE: string = `Usage: sync-kit serve [--db PATH] [--port N] [--host HOST] [flags]

Runs the sync-kit HTTP sync server (wire protocol v1: POST/GET <base>/v1/events, GET
<base>/v1/version, GET <base>/v1/stream, GET <base>/v1/health) on a SQLite database, or on
PostgreSQL, where several instances can serve one database behind a load balancer.

Flags:
  --db PATH|URL             SQLite database file, created when missing; :memory: keeps events in
                            memory only (lost on exit); or a postgres://user:password@host:port/db
                            URL (needs the pg package: npm install pg) (default: ${DEFAULT_DB_PATH})
  --port N                  TCP port, 0 … 65535; 0 picks a free one (default: ${DEFAULT_PORT})
  --host HOST               interface to listen on; 0.0.0.0 or :: accepts other hosts
                                                                  (default: ${DEFAULT_HOST})
  --base-path PATH          path prefix of the routes, e.g. /sync (default: none)
  --shutdown-timeout MS     on SIGINT/SIGTERM, how long in-flight requests may take before
                            their connections are closed          (default: ${DEFAULT_SHUTDOWN_TIMEOUT_MS})
  --heartbeat MS            keep-alive interval of idle live streams (default: ${DEFAULT_CLI_HEARTBEAT_MS})
  --synchronous full|normal SQLite durability: full survives power loss, normal is faster and
                            survives process crashes              (default: full)
  --log-level info|warn|error
                            least severe log records written      (default: info)
  --pg-pool-size N          PostgreSQL connections of this instance, one of them listening for
                            other instances' appends              (default: ${DEFAULT_PG_POOL_SIZE})
  --pg-statement-timeout MS PostgreSQL statement_timeout of every connection; 0: none
                                                                  (default: ${DEFAULT_PG_STATEMENT_TIMEOUT_MS})

Limits (each refusal is logged; see docs/server.md):
  --max-connections N       open connections; more are closed at once
                                                                  (default: ${DEFAULT_MAX_CONNECTIONS})
  --max-streams N           open live streams; more get 503 + Retry-After (default: ${DEFAULT_MAX_STREAMS})
  --headers-timeout MS      time to send the request headers, then 408 (default: ${DEFAULT_HEADERS_TIMEOUT_MS})
  --request-timeout MS      time to send a whole request, then 408 (default: ${DEFAULT_REQUEST_TIMEOUT_MS})
  --body-timeout MS         silence allowed while a body arrives, then 408; 0: none
                                                                  (default: ${DEFAULT_BODY_IDLE_TIMEOUT_MS})
  --body-budget BYTES       request-body bytes held at once across all pushes; a push past it
                            waits up to ${DEFAULT_BODY_BUDGET_WAIT_MS} ms, then 503 (at least ${DEFAULT_MAX_DECOMPRESSED_BYTES})
                                                                  (default: ${DEFAULT_MAX_BUFFERED_BODY_BYTES})
  --max-drift MS            refuse (422 clock-drift) events stamped further ahead of this
                            server's clock; 0: no bound           (default: ${DEFAULT_SERVER_MAX_DRIFT_MS})
  --ws-send-buffer BYTES    bytes queued to one WebSocket client that reads too slowly; a message
                            past it closes the socket with 1013 and the client resumes from
                            its cursor (at least ${DEFAULT_MAX_PAGE_BYTES}, one page)
                                                                  (default: ${DEFAULT_CLI_WS_SEND_BUFFER_BYTES})
  --no-websocket            do not accept WebSocket clients (sync-kit/ws) on <base>/v1/ws of the
                            same port; they are accepted by default

Browsers and auth (see docs/server.md, "Serving browsers: CORS and tokens"):
  --cors ORIGIN             let pages of ORIGIN (scheme://host[:port], e.g. http://localhost:5173)
                            call the server: CORS headers, preflights, WebSocket Origin check;
                            repeat it or give a comma list; * allows every origin (logged as a
                            warning)                              (default: none)
  --auth-tokens FILE        require Authorization: Bearer <token> on every request but health; FILE
                            maps tokens to tenants: {"version":1,"tokens":[{"token":"…","tenant":
                            "acme"}]}; read once at start (restart to apply changes)
                                                                  (default: no authentication)
  -h, --help                show this help

Logs: one JSON object per line; info on stdout, warn and error on stderr. The first line,
{"level":"info","msg":"listening","url":"http://127.0.0.1:${DEFAULT_PORT}",...}, says where clients
connect (createHttpTransport({ url })). SIGINT or SIGTERM shuts down gracefully: new requests get
503, live streams end, in-flight requests finish, the database closes (PostgreSQL: the
listening connection and the pool), exit code 0. A second
signal exits at once with code 1.

Without --auth-tokens the server has no authentication: keep it on 127.0.0.1 or behind a proxy
that authenticates, or embed createSyncHandler with authorize/tenantOf (see docs/server.md).`

/** The help text of `sync-kit epoch --help`. */
// eslint-disable-next-line @typescript-eslint/no-inferrable-types
export const EPOCH_USAGE: string = `Usage: sync-kit epoch [--db PATH] [--renew]

Prints the epoch (the id of the log) of a sync server's database (SQLite or PostgreSQL) as one
JSON line. With
--renew, gives the database a new epoch first: do this after restoring it from a backup, while no
server runs on it. Clients then see a new log, pull it from the start and push again what the
backup lacks (see docs/server.md, "Restoring a backup").

Flags:
  --db PATH    the SQLite database file; it must exist       (default: ${DEFAULT_DB_PATH})
  --db postgres://…  a PostgreSQL database instead (every instance stopped for --renew)
  --renew      replace the epoch with a new random one
  -h, --help   show this help

Exit codes: 0 success, 1 the database cannot be opened or written, 2 bad command line.`

/** The options of `sync-kit serve`, with defaults filled in. */
export interface ServeCommandOptions {
  /**
   * SQLite database path, `':memory:'`, or a PostgreSQL URL (`postgres://…`).
   * @defaultValue {@link DEFAULT_DB_PATH}
   */
  readonly db: string
  /** TCP port; 0 picks a free one. @defaultValue {@link DEFAULT_PORT} */
  readonly port: number
  /** Interface to listen on. @defaultValue {@link DEFAULT_HOST} */
  readonly host: string
  /** Route prefix, `''` or `/segment…`. @defaultValue `''` */
  readonly basePath: string
  /** Time in-flight requests get on shutdown, ms. @defaultValue {@link DEFAULT_SHUTDOWN_TIMEOUT_MS} */
  readonly shutdownTimeoutMs: number
  /** Idle live-stream heartbeat, ms. @defaultValue {@link DEFAULT_CLI_HEARTBEAT_MS} */
  readonly heartbeatMs: number
  /** SQLite `synchronous`. @defaultValue `'full'` */
  readonly synchronous: 'full' | 'normal'
  /** Least severe level written. @defaultValue `'info'` */
  readonly logLevel: LogLevel
  /** `--max-connections`. @defaultValue `serve`'s `maxConnections` (absent: the library's) */
  readonly maxConnections?: number
  /** `--max-streams`. @defaultValue `createSyncHandler`'s `maxStreams` */
  readonly maxStreams?: number
  /** `--headers-timeout`, ms. @defaultValue `serve`'s `headersTimeoutMs` */
  readonly headersTimeoutMs?: number
  /** `--request-timeout`, ms. @defaultValue `serve`'s `requestTimeoutMs` */
  readonly requestTimeoutMs?: number
  /** `--body-timeout`, ms; 0 turns it off. @defaultValue `serve`'s `bodyIdleTimeoutMs` */
  readonly bodyIdleTimeoutMs?: number
  /** `--body-budget`, bytes. @defaultValue `createSyncHandler`'s `maxBufferedBodyBytes` */
  readonly maxBufferedBodyBytes?: number
  /** `--max-drift`, ms; 0 turns it off. @defaultValue `createSyncHandler`'s `maxDriftMs` */
  readonly maxDriftMs?: number
  /**
   * `--ws-send-buffer`, bytes. @defaultValue `createWebSocketServer`'s `maxBufferedBytes`
   */
  readonly wsMaxBufferedBytes?: number
  /**
   * `--no-websocket` sets it to false: no WebSocket clients on `<base>/v1/ws`.
   * @defaultValue true (absent)
   */
  readonly websocket?: boolean
  /**
   * `--cors`: the browser origins allowed to call the server (`createSyncHandler`'s
   * `cors.origins`), each `scheme://host[:port]`, or `'*'` for every origin.
   * @defaultValue none (absent)
   */
  readonly cors?: readonly string[] | '*'
  /**
   * `--auth-tokens`: the path of the JSON file mapping bearer tokens to tenants, as given (relative
   * to the working directory).
   * @defaultValue no authentication (absent)
   */
  readonly authTokens?: string
  /** `--pg-pool-size` (PostgreSQL only). @defaultValue {@link DEFAULT_PG_POOL_SIZE} */
  readonly pgPoolSize?: number
  /**
   * `--pg-statement-timeout`, ms; 0 turns it off (PostgreSQL only).
   * @defaultValue {@link DEFAULT_PG_STATEMENT_TIMEOUT_MS}
   */
  readonly pgStatementTimeoutMs?: number
}

/** The options of `sync-kit epoch`. */
export interface EpochCommandOptions {
  /** The SQLite database path. @defaultValue {@link DEFAULT_DB_PATH} */
  readonly db: string
  /** Give the database a new epoch. @defaultValue false */
  readonly renew: boolean
}

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'serve'; readonly options: ServeCommandOptions }
  | { readonly kind: 'epoch'; readonly options: EpochCommandOptions }

/**
 * Parses the `sync-kit` command line strictly.
 * @param argv - the arguments after the program name (`process.argv.slice(2)`).
 * @returns the command: help (with the text to print), version, or serve with its options.
 * @throws SyncKitError `invalid-argument` (details name the flag, or `command`) for a missing or
 * unknown command, an unknown flag, a missing value, a stray argument or a value out of range.
 * @example
 * ```ts
 * import { parseCliArgs } from './cli-args.js'
 *
 * parseCliArgs(['--version']) // { kind: 'version' }
 * parseCliArgs(['serve', '--db', ':memory:', '--port', '0']).kind // 'serve'
 * ```
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv
  if (first === 'serve') return parseServe(rest)
  if (first === 'epoch') return parseEpoch(rest)
  const { values, positionals } = strictParse(argv, {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  })
  if (values.help === true) return { kind: 'help', text: CLI_USAGE }
  if (values.version === true) return { kind: 'version' }
  const command = positionals[0]
  throw new SyncKitError(
    'invalid-argument',
    command === undefined
      ? `${COMPONENT} no command given; run "sync-kit serve" (see sync-kit --help)`
      : `${COMPONENT} unknown command ${JSON.stringify(command.slice(0, 40))}; the commands are "serve" and "epoch" (see sync-kit --help)`,
    { argument: 'command' },
  )
}

function parseServe(argv: readonly string[]): CliCommand {
  const { values, positionals } = strictParse(argv, {
    db: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'base-path': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    heartbeat: { type: 'string' },
    synchronous: { type: 'string' },
    'log-level': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-streams': { type: 'string' },
    'headers-timeout': { type: 'string' },
    'request-timeout': { type: 'string' },
    'body-timeout': { type: 'string' },
    'body-budget': { type: 'string' },
    'max-drift': { type: 'string' },
    'ws-send-buffer': { type: 'string' },
    'no-websocket': { type: 'boolean' },
    cors: { type: 'string', multiple: true },
    'auth-tokens': { type: 'string' },
    'pg-pool-size': { type: 'string' },
    'pg-statement-timeout': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help === true) return { kind: 'help', text: SERVE_USAGE }
  const stray = positionals[0]
  if (stray !== undefined) {
    throw usage('command', `unexpected argument ${JSON.stringify(stray.slice(0, 40))}`)
  }
  const db = stringFlag(values, 'db') ?? DEFAULT_DB_PATH
  if (db === '') throw usage('db', '--db needs a file path, :memory: or a postgres:// URL')
  checkDbFlags(values, db)
  const host = stringFlag(values, 'host') ?? DEFAULT_HOST
  if (host === '') throw usage('host', '--host needs an interface, e.g. 127.0.0.1 or 0.0.0.0')
  const basePath = stringFlag(values, 'base-path') ?? ''
  // Same rule as createSyncHandler's basePath, checked here so a bad flag exits 2 before the
  // database file is opened.
  if (basePath !== '' && !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(basePath)) {
    throw usage(
      'base-path',
      `--base-path must start with "/" and not end with "/", e.g. /sync; got ${JSON.stringify(basePath.slice(0, 100))}`,
    )
  }
  const authTokens = stringFlag(values, 'auth-tokens')
  if (authTokens === '') {
    throw usage('auth-tokens', '--auth-tokens needs the path of a JSON token file')
  }
  const cors = corsFlag(values)
  return {
    kind: 'serve',
    options: {
      db,
      port: integerFlag(values, 'port', DEFAULT_PORT, 0, 65_535),
      host,
      basePath,
      shutdownTimeoutMs: integerFlag(
        values,
        'shutdown-timeout',
        DEFAULT_SHUTDOWN_TIMEOUT_MS,
        0,
        MAX_CLI_DURATION_MS,
      ),
      heartbeatMs: integerFlag(
        values,
        'heartbeat',
        DEFAULT_CLI_HEARTBEAT_MS,
        1,
        MAX_CLI_DURATION_MS,
      ),
      synchronous: oneOf(values, 'synchronous', SYNCHRONOUS_MODES, 'full'),
      logLevel: oneOf(values, 'log-level', LOG_LEVELS, 'info'),
      ...limit(values, 'max-connections', 'maxConnections', 1, MAX_CLI_COUNT),
      ...limit(values, 'max-streams', 'maxStreams', 1, MAX_CLI_COUNT),
      ...limit(values, 'headers-timeout', 'headersTimeoutMs', 1, MAX_CLI_DURATION_MS),
      ...limit(values, 'request-timeout', 'requestTimeoutMs', 1, MAX_CLI_DURATION_MS),
      ...limit(values, 'body-timeout', 'bodyIdleTimeoutMs', 0, MAX_CLI_DURATION_MS),
      ...limit(
        values,
        'body-budget',
        'maxBufferedBodyBytes',
        DEFAULT_MAX_DECOMPRESSED_BYTES,
        MAX_CLI_BODY_BUDGET_BYTES,
      ),
      ...limit(values, 'max-drift', 'maxDriftMs', 0, MAX_CLI_DRIFT_MS),
      ...limit(
        values,
        'ws-send-buffer',
        'wsMaxBufferedBytes',
        DEFAULT_MAX_PAGE_BYTES,
        MAX_CLI_BODY_BUDGET_BYTES,
      ),
      ...(values['no-websocket'] === true ? { websocket: false } : {}),
      ...(cors === undefined ? {} : { cors }),
      ...(authTokens === undefined ? {} : { authTokens }),
      ...limit(values, 'pg-pool-size', 'pgPoolSize', 1, MAX_PG_POOL_SIZE),
      ...limit(values, 'pg-statement-timeout', 'pgStatementTimeoutMs', 0, MAX_CLI_DURATION_MS),
    },
  }
}

/**
 * `--cors`, repeated or comma-separated: the origins, checked by the handler's own rule so a bad
 * one exits 2 before anything is opened.
 */
function corsFlag(values: ParsedValues): readonly string[] | '*' | undefined {
  const raw = values.cors
  if (!Array.isArray(raw)) return undefined
  const origins = raw
    .flatMap((value) => String(value).split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
  if (origins.length === 0) {
    throw usage('cors', '--cors needs an origin, e.g. --cors http://localhost:5173')
  }
  if (origins.includes('*')) {
    if (origins.length > 1) {
      throw usage('cors', '--cors * allows every origin; give it alone, without other origins')
    }
    return '*'
  }
  for (const origin of origins) {
    const problem = originProblem(origin)
    if (problem !== undefined) throw usage('cors', `--cors ${problem}`)
  }
  return [...new Set(origins)]
}

/** A PostgreSQL URL must parse; flags of the other database refuse to mix with it. */
function checkDbFlags(values: ParsedValues, db: string): void {
  if (!isPostgresUrl(db)) {
    for (const flag of ['pg-pool-size', 'pg-statement-timeout']) {
      if (stringFlag(values, flag) !== undefined) {
        throw usage(flag, `--${flag} applies to a PostgreSQL --db (postgres://…) only`)
      }
    }
    return
  }
  let url: URL
  try {
    url = new URL(db)
  } catch {
    throw usage(
      'db',
      '--db postgres://… is not a valid URL (postgres://user:password@host:port/database)',
    )
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw usage('db', '--db postgres://… needs a host, e.g. postgres://user@127.0.0.1:5432/app')
  }
  if (stringFlag(values, 'synchronous') !== undefined) {
    throw usage(
      'synchronous',
      '--synchronous applies to a SQLite --db only (PostgreSQL commits durably)',
    )
  }
}

function parseEpoch(argv: readonly string[]): CliCommand {
  const { values, positionals } = strictParse(argv, {
    db: { type: 'string' },
    renew: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help === true) return { kind: 'help', text: EPOCH_USAGE }
  const stray = positionals[0]
  if (stray !== undefined) {
    throw usage('command', `unexpected argument ${JSON.stringify(stray.slice(0, 40))}`, 'epoch')
  }
  const db = stringFlag(values, 'db') ?? DEFAULT_DB_PATH
  if (db === '' || db === ':memory:') {
    throw usage('db', '--db needs the path of an existing database file', 'epoch')
  }
  return { kind: 'epoch', options: { db, renew: values.renew === true } }
}

/**
 * A limit flag, as the option it sets: absent when the flag is, so the library's default
 * applies (and stays in one place).
 */
function limit<const K extends keyof ServeCommandOptions>(
  values: ParsedValues,
  flag: string,
  key: K,
  min: number,
  max: number,
): Partial<Record<K, number>> {
  if (stringFlag(values, flag) === undefined) return {}
  return { [key]: integerFlag(values, flag, 0, min, max) } as Partial<Record<K, number>>
}

type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>

function strictParse(
  argv: readonly string[],
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>,
): { values: ParsedValues; positionals: string[] } {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true })
  } catch (error) {
    // Node appends a hint about positionals after '--' that only confuses here.
    const why = (error instanceof Error ? error.message : String(error)).replace(
      /\.? To specify a positional argument.*$/s,
      '',
    )
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} ${why}; see sync-kit serve --help`,
      { argument: flagNamedIn(why) },
      { cause: error },
    )
  }
}

/** Pulls the flag name out of a `parseArgs` error message, for `details.argument`. */
function flagNamedIn(message: string): string {
  const match = /'--?([A-Za-z0-9-]+)/.exec(message)
  return match?.[1] ?? 'argv'
}

function stringFlag(values: ParsedValues, name: string): string | undefined {
  const value = values[name]
  return typeof value === 'string' ? value : undefined
}

function integerFlag(
  values: ParsedValues,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = stringFlag(values, name)
  if (raw === undefined) return fallback
  const value = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw usage(
      name,
      `--${name} must be an integer in ${min} … ${max}, got ${JSON.stringify(raw.slice(0, 40))}`,
    )
  }
  return value
}

function oneOf<const T extends string>(
  values: ParsedValues,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = stringFlag(values, name)
  if (raw === undefined) return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw usage(
      name,
      `--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`,
    )
  }
  return raw as T
}

function usage(
  argument: string,
  problem: string,
  command = 'serve',
): SyncKitError<'invalid-argument'> {
  return new SyncKitError(
    'invalid-argument',
    `${COMPONENT} ${problem}; see sync-kit ${command} --help`,
    {
      argument,
    },
  )
}
