import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'

/** The message prefix of every error the PostgreSQL store throws. */
export const POSTGRES_PREFIX = '[sync-kit] [postgres]'

/** Node socket errors that mean the server cannot be reached (transient). */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
])

/**
 * SQLSTATE codes (or their two-character classes) that are worth retrying: the connection or
 * the server went away, the server is starting or shutting down, out of connections or
 * resources, a serialisation failure or deadlock (the transaction was rolled back), or a
 * read-only standby answered.
 */
const TRANSIENT_SQLSTATES: readonly string[] = [
  '08', // connection exception
  '53', // insufficient resources (e.g. 53300 too_many_connections)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout
  '57014', // query_canceled: statement_timeout (an overloaded database, a lock held long)
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '25006', // read_only_sql_transaction (a standby, or a primary being demoted)
  '58000', // system_error
  '58030', // io_error
]

/**
 * What an `unavailable` error says is wrong, by SQLSTATE (or its class): the cause an operator
 * can act on, never the server's own text (which may hold values).
 */
const UNAVAILABLE_NAMES: Readonly<Record<string, string>> = {
  '53100':
    "the database server's disk is full (disk_full); free space — writes succeed again once there is room",
  '53200': 'the database server is out of memory (out_of_memory)',
  '53300': 'the database server has no free connection slot (too_many_connections)',
  '53400': 'a configured limit of the database server was reached (configuration_limit_exceeded)',
  '53': 'the database server is out of resources',
  '57P01': 'the database server is shutting down (admin_shutdown)',
  '57P02': 'the database server crashed (crash_shutdown)',
  '57P03': 'the database server is starting up or shutting down (cannot_connect_now)',
  '57P05': 'the session was idle too long (idle_session_timeout)',
  '57014':
    'a statement ran past statement_timeout or was cancelled (query_canceled); the database is overloaded or a lock was held long',
  '40001': 'the transaction hit a serialization failure',
  '40P01': 'the transaction hit a deadlock',
  '55P03': 'a lock was not available (lock_not_available)',
  '25006': 'the database is read-only (a standby, or a primary being demoted)',
  '58000': 'the database server reported a system error',
  '58030': 'the database server reported an I/O error (io_error); check its disk',
  '08': 'the connection to the database failed',
}

/**
 * The cause of an `unavailable` error, for its message.
 * @param code - the SQLSTATE or Node error code, if any.
 * @returns the text.
 */
function unavailableCause(code: string | undefined): string {
  if (code === undefined) return 'the connection to it broke'
  if (NETWORK_CODES.has(code)) return 'the database server cannot be reached'
  return UNAVAILABLE_NAMES[code] ?? UNAVAILABLE_NAMES[code.slice(0, 2)] ?? 'it is busy'
}

/** Messages of `pg` and `pg-pool` for a connection that broke or could not be made. */
const CONNECTION_MESSAGES: readonly RegExp[] = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /Client was closed/i,
]

/** Conditions worth naming in a message, by SQLSTATE; the server's own text stays in `cause`. */
const CONDITION_NAMES: Readonly<Record<string, string>> = {
  '42501': 'permission denied',
  '42P01': 'a table is missing',
  '42703': 'a column is missing',
  '22021': 'a value is not valid UTF-8',
  '54000': 'a value is too large',
  '25P02': 'the transaction was already aborted',
}

/**
 * The SQLSTATE of a PostgreSQL error, or the Node error code of a socket error.
 * @param error - what was thrown.
 * @returns the code, or `undefined` when there is none.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return code
  // Node reports a refused connection to a name with several addresses as an AggregateError.
  const errors = (error as { errors?: unknown }).errors
  if (Array.isArray(errors)) return errorCode(errors[0])
  return undefined
}

/**
 * Tells whether an error means the database could not be reached or the connection broke, so
 * the call may succeed when retried.
 * @param error - what was thrown.
 * @returns true for network errors, transient SQLSTATEs and `pg`'s broken-connection errors.
 */
export function isUnavailable(error: unknown): boolean {
  const code = errorCode(error)
  if (code !== undefined) {
    if (NETWORK_CODES.has(code)) return true
    if (/^[0-9A-Z]{5}$/.test(code)) {
      return TRANSIENT_SQLSTATES.some((c) => (c.length === 2 ? code.startsWith(c) : code === c))
    }
  }
  const message = error instanceof Error ? error.message : ''
  return CONNECTION_MESSAGES.some((re) => re.test(message))
}

/**
 * Turns whatever a `pg` call threw into a `SyncKitError`: sync-kit errors pass through,
 * connection failures and transient server conditions — a full disk (53100), no connection slot,
 * a server starting or shutting down (57P03), a read-only standby, I/O errors — become
 * `unavailable` (retry with backoff; the message names the cause), a pool that was ended becomes `closed`, anything else `internal`. The message names
 * the operation and the SQLSTATE only, never SQL or the server's text (it may hold values, and an
 * `unavailable` message reaches remote clients); the original error is the `cause`.
 * @param error - what was thrown.
 * @param what - the operation, for the message (e.g. `storeBatch`).
 * @returns the error to throw.
 */
export function toSyncKitError(error: unknown, what: string): SyncKitError {
  if (isSyncKitError(error)) return error
  const code = errorCode(error)
  const message = error instanceof Error ? error.message : ''
  if (/after calling end on the pool/i.test(message)) {
    return new SyncKitError(
      'closed',
      `${POSTGRES_PREFIX} ${what} failed: the pg pool was ended while the store was open; close the store before ending its pool`,
      {},
      { cause: error },
    )
  }
  if (isUnavailable(error)) {
    return new SyncKitError(
      'unavailable',
      `${POSTGRES_PREFIX} ${what} failed: the database is unreachable or busy — ${unavailableCause(code)}${code === undefined ? '' : ` (${code})`}; retry later`,
      {},
      { cause: error },
    )
  }
  const condition = code === undefined ? undefined : CONDITION_NAMES[code]
  return new SyncKitError(
    'internal',
    `${POSTGRES_PREFIX} ${what} failed${code === undefined ? '' : ` with PostgreSQL error ${code}`}${condition === undefined ? '' : ` (${condition})`}; the cause has the details`,
    {},
    { cause: error },
  )
}
