import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Clock } from '../../types/index.js'
import { SQLITE_PREFIX } from './sqlite-errors.js'
import type { SqliteDatabase, SqliteStoreCommonOptions, SqliteSynchronous } from './sqlite-types.js'

/**
 * Default `busyTimeoutMs`: 5000 ms.
 * @example
 * ```ts
 * import { DEFAULT_SQLITE_BUSY_TIMEOUT_MS, openSqliteStore } from 'sync-kit/sqlite'
 *
 * const store = await openSqliteStore({ path: 'events.db', busyTimeoutMs: 2 * DEFAULT_SQLITE_BUSY_TIMEOUT_MS })
 * ```
 */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000

/**
 * Default `synchronous`: `'full'`, so a resolved write survives a power loss.
 * @example
 * ```ts
 * import { DEFAULT_SQLITE_SYNCHRONOUS } from 'sync-kit/sqlite'
 *
 * DEFAULT_SQLITE_SYNCHRONOUS // 'full'
 * ```
 */
export const DEFAULT_SQLITE_SYNCHRONOUS: SqliteSynchronous = 'full'

/** The `better-sqlite3` `Database` constructor. */
export type DatabaseConstructor = new (path: string) => SqliteDatabase

/**
 * Loads `better-sqlite3` (an optional peer dependency) on first use.
 * @returns its `Database` constructor.
 * @throws SyncKitError `missing-dependency` (`details.dependency`: `better-sqlite3`) when it is
 * not installed, or exports no `Database` constructor.
 */
export async function loadBetterSqlite3(): Promise<DatabaseConstructor> {
  let loaded: unknown
  try {
    loaded = await import('better-sqlite3')
  } catch (error) {
    throw new SyncKitError(
      'missing-dependency',
      `${SQLITE_PREFIX} could not load better-sqlite3, which openSqliteStore({ path }) needs; install it (\`npm install better-sqlite3\`) or pass a database you opened to createSqliteStore`,
      { dependency: 'better-sqlite3' },
      { cause: error },
    )
  }
  // ESM gives the module namespace (constructor on `default`), CJS interop may give it directly.
  const ctor = typeof loaded === 'function' ? loaded : (loaded as { default?: unknown }).default
  if (typeof ctor !== 'function') {
    throw new SyncKitError(
      'missing-dependency',
      `${SQLITE_PREFIX} better-sqlite3 did not export a Database constructor; install better-sqlite3 12 or later`,
      { dependency: 'better-sqlite3' },
    )
  }
  return ctor as DatabaseConstructor
}

/** The checked options every store takes. */
export interface CommonSettings {
  readonly synchronous: SqliteSynchronous
  readonly busyTimeoutMs: number
  readonly configureConnection: boolean
  readonly clock: Clock
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now() }

/**
 * @param options - the options given.
 * @param fn - the function, for the message.
 * @throws SyncKitError `invalid-argument` unless it is an object.
 */
export function checkOptionsObject(options: unknown, fn: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} ${fn} needs an options object, got ${describe(options)}`,
      { argument: 'options' },
    )
  }
}

/**
 * @param database - the value given as `database`.
 * @throws SyncKitError `invalid-argument` unless it is an open better-sqlite3 Database.
 */
export function checkDatabase(database: unknown): void {
  const db = database as Partial<Record<keyof SqliteDatabase, unknown>> | null
  if (
    typeof db !== 'object' ||
    db === null ||
    typeof db.prepare !== 'function' ||
    typeof db.exec !== 'function' ||
    typeof db.pragma !== 'function' ||
    typeof db.close !== 'function'
  ) {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} \`database\` must be a better-sqlite3 Database (new Database(path)), got ${describe(database)}`,
      { argument: 'database' },
    )
  }
  if (db.open !== true) {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} \`database\` is closed; pass an open connection`,
      { argument: 'database' },
    )
  }
}

/**
 * @param options - the durability and clock options.
 * @returns them checked, with defaults.
 * @throws SyncKitError `invalid-argument` for a bad one.
 */
export function checkCommonOptions(options: SqliteStoreCommonOptions): CommonSettings {
  const synchronous = options.synchronous ?? DEFAULT_SQLITE_SYNCHRONOUS
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} \`synchronous\` must be 'full' or 'normal', got ${describe(synchronous)}`,
      { argument: 'synchronous' },
    )
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > 2 ** 31 - 1) {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} \`busyTimeoutMs\` must be an integer from 0 to 2147483647, got ${describe(busyTimeoutMs)}`,
      { argument: 'busyTimeoutMs' },
    )
  }
  const configureConnection = options.configureConnection ?? true
  if (typeof configureConnection !== 'boolean') {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} \`configureConnection\` must be a boolean, got ${describe(configureConnection)}`,
      { argument: 'configureConnection' },
    )
  }
  const clock = options.clock ?? SYSTEM_CLOCK
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} \`clock\` must be an object with a now() method, got ${describe(clock)}`,
      { argument: 'clock' },
    )
  }
  return { synchronous, busyTimeoutMs, configureConnection, clock }
}

/** Describes a value for a message. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `"${truncate(value)}"`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

/** Shortens a string for a message. */
export function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s
}
