import type {
  Clock,
  Event,
  EventStore,
  JsonValue,
  SignalOptions,
  StoreBatchOptions,
  StoreResult,
  StoreWatchOptions,
} from '../../types/index.js'
import type { SequenceVersion } from '../../versions/sequence-version.js'

/**
 * What `run` reports: rows changed and the rowid of the last inserted row.
 * @example
 * ```ts
 * import type { SqliteRunResult } from 'sync-kit/sqlite'
 *
 * const result: SqliteRunResult = { changes: 1, lastInsertRowid: 42n }
 * ```
 */
export interface SqliteRunResult {
  /** Rows inserted, updated or deleted by the statement. */
  readonly changes: number
  /** Rowid of the last inserted row (a `bigint` when the statement reads safe integers). */
  readonly lastInsertRowid: number | bigint
}

/**
 * The part of a `better-sqlite3` prepared statement the SQLite store uses. A structural type, so
 * sync-kit's published types do not depend on `@types/better-sqlite3`.
 * @example
 * ```ts
 * import type { SqliteStatement } from 'sync-kit/sqlite'
 *
 * function count(statement: SqliteStatement): unknown {
 *   return statement.safeIntegers(true).get()
 * }
 * ```
 */
export interface SqliteStatement {
  /** Executes the statement. */
  run(...params: unknown[]): SqliteRunResult
  /** Executes the statement and returns the first row, or `undefined`. */
  get(...params: unknown[]): unknown
  /** Executes the statement and returns every row. */
  all(...params: unknown[]): unknown[]
  /** Reads INTEGER columns as `bigint` (exact past 2^53) when `toggle` is true. */
  safeIntegers(toggle?: boolean): this
}

/**
 * The part of a `better-sqlite3` `Database` the SQLite store uses: a `new Database(path)` from
 * `better-sqlite3` (version 12 or later) satisfies it.
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * import type { SqliteDatabase } from 'sync-kit/sqlite'
 *
 * const database: SqliteDatabase = new Database('app.db')
 * ```
 */
export interface SqliteDatabase {
  /** True while the connection is open. */
  readonly open: boolean
  /** True while a transaction is open on the connection. */
  readonly inTransaction: boolean
  /** Compiles a statement. */
  prepare(source: string): SqliteStatement
  /** Runs one or more statements without results. */
  exec(source: string): unknown
  /** Runs a PRAGMA; with `{ simple: true }` returns the first column of the first row. */
  pragma(source: string, options?: { readonly simple?: boolean }): unknown
  /** Closes the connection. */
  close(): unknown
}

/**
 * How hard SQLite works to make a commit survive a power loss (`PRAGMA synchronous`); see
 * {@link SqliteStoreCommonOptions.synchronous}.
 * @example
 * ```ts
 * import type { SqliteSynchronous } from 'sync-kit/sqlite'
 *
 * const synchronous: SqliteSynchronous = 'normal'
 * ```
 */
export type SqliteSynchronous = 'full' | 'normal'

/**
 * Options shared by {@link SqliteStoreOptions} and {@link OpenSqliteStoreOptions}.
 * @example
 * ```ts
 * import type { SqliteStoreCommonOptions } from 'sync-kit/sqlite'
 *
 * const options: SqliteStoreCommonOptions = { synchronous: 'full', busyTimeoutMs: 10_000 }
 * ```
 */
export interface SqliteStoreCommonOptions {
  /**
   * `PRAGMA synchronous` for the connection. Both settings keep every commit atomic and survive a
   * crash of the process (a committed batch is in the operating system's hands before the call
   * resolves). `'full'` also syncs the write-ahead log to disk on every commit, so a committed
   * batch survives a power loss or an operating-system crash; `'normal'` skips that sync (faster
   * commits) and may lose the most recent commits, never part of one, on a power loss.
   * @defaultValue `'full'`
   */
  readonly synchronous?: SqliteSynchronous
  /**
   * How long a write waits for another connection's lock before it fails with `unavailable`
   * (`PRAGMA busy_timeout`), in milliseconds.
   * @defaultValue `5000`
   */
  readonly busyTimeoutMs?: number
  /**
   * Whether the store sets `journal_mode=WAL`, `synchronous` and `busy_timeout` on the
   * connection. Set it to `false` only when you configured the connection yourself; the store's
   * durability notes then no longer apply.
   * @defaultValue `true`
   */
  readonly configureConnection?: boolean
  /**
   * The clock that stamps the `created_at` column (milliseconds since the Unix epoch).
   * @defaultValue `Date.now`
   */
  readonly clock?: Clock
}

/**
 * Options for `createSqliteStore`: a connection you opened yourself.
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * import { createSqliteStore, type SqliteStoreOptions } from 'sync-kit/sqlite'
 *
 * const options: SqliteStoreOptions = { database: new Database('app.db'), synchronous: 'normal' }
 * const store = createSqliteStore(options)
 * ```
 */
export interface SqliteStoreOptions extends SqliteStoreCommonOptions {
  /**
   * An open `better-sqlite3` `Database`. The store creates and migrates its tables in it and never
   * closes it: `close()` on the store leaves the connection open for you to close.
   */
  readonly database: SqliteDatabase
}

/**
 * Options for `openSqliteStore` when the store opens the file itself.
 * @example
 * ```ts
 * import { openSqliteStore, type OpenSqliteStorePathOptions } from 'sync-kit/sqlite'
 *
 * const options: OpenSqliteStorePathOptions = { path: 'events.db' }
 * const store = await openSqliteStore(options)
 * ```
 */
export interface OpenSqliteStorePathOptions extends SqliteStoreCommonOptions {
  /**
   * The database file (created when missing), or `':memory:'` for a private in-memory database.
   * The store owns the connection it opens and closes it on `close()`.
   */
  readonly path: string
}

/**
 * Options for `openSqliteStore`: a file path, or a connection you opened yourself.
 * @example
 * ```ts
 * import { openSqliteStore, type OpenSqliteStoreOptions } from 'sync-kit/sqlite'
 *
 * const options: OpenSqliteStoreOptions = { path: ':memory:' }
 * const store = await openSqliteStore(options)
 * ```
 */
export type OpenSqliteStoreOptions = OpenSqliteStorePathOptions | SqliteStoreOptions

/**
 * An {@link EventStore} kept in a SQLite database, with atomic batches and checkpoints in the same
 * database. Versions are {@link SequenceVersion}s: the `seq` column of the `events` table.
 * @example
 * ```ts
 * import { openSqliteStore, type SqliteStore } from 'sync-kit/sqlite'
 *
 * const store: SqliteStore = await openSqliteStore({ path: 'events.db' })
 * const [result] = await store.storeBatch([
 *   { id: 'e1', type: 'Created', aggregateId: 'a1', data: {} },
 * ])
 * result?.version.toString() // '1'
 * ```
 */
export interface SqliteStore extends EventStore {
  /**
   * Persists a batch in one transaction, all or nothing, with an optional checkpoint in the same
   * transaction.
   * @param events - the events, in the order to store them.
   * @param options - cancellation and an optional checkpoint.
   * @returns one result per input event, at the same index.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `invalid-argument`, `unavailable`
   * (the database stayed locked for longer than `busyTimeoutMs`), `internal`, `closed`,
   * `aborted`.
   */
  storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]>
  /**
   * The version of the newest stored event; {@link SequenceVersion.ZERO} while empty.
   * @throws SyncKitError `closed`, `aborted`, `internal`.
   */
  latestVersion(options?: SignalOptions): Promise<SequenceVersion>
  /**
   * The epoch of this log for a server (see `EventStore.loadOrCreateEpoch`): read, or created
   * from `candidate`, atomically under SQLite's write lock, in the `sync_kit_meta` table. Reading
   * an existing epoch writes nothing (a read-only database can serve reads); creating one on a
   * database SQLite can only read fails with `unavailable`.
   * @param candidate - the epoch to keep when the database has none; a non-empty string.
   * @param options - cancellation.
   * @returns the database's epoch.
   * @throws SyncKitError `invalid-argument` (empty candidate), `unavailable` (the file cannot be
   * written, or stayed locked past `busyTimeoutMs`), `internal`, `closed`, `aborted`.
   */
  loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Gives the log a new epoch (see `EventStore.renewEpoch`), replacing the one in the
   * `sync_kit_meta` table in one transaction; for a database restored from a backup.
   * @param candidate - the new epoch; a non-empty string.
   * @param options - cancellation.
   * @returns `candidate`, the database's epoch from now on.
   * @throws SyncKitError `invalid-argument` (empty candidate), `unavailable` (the file cannot be
   * written, or stayed locked past `busyTimeoutMs`), `internal`, `closed`, `aborted`.
   */
  renewEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Reads a small durable value (see `EventStore.setState`) from the `sync_kit_state` table.
   * @param key - 1–256 characters.
   * @param options - cancellation.
   * @returns the value, or `undefined` when none is kept under `key`.
   * @throws SyncKitError `invalid-argument`, `internal`, `closed`, `aborted`.
   */
  getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined>
  /**
   * Writes a small durable value as canonical JSON text in `sync_kit_state`, or deletes it when
   * `value` is `undefined`; committed when the promise resolves.
   * @param key - 1–256 characters.
   * @param value - a JSON value, or `undefined` to delete.
   * @param options - cancellation.
   * @throws SyncKitError `invalid-argument` (bad key, not JSON), `unavailable` (locked past
   * `busyTimeoutMs`), `internal`, `closed`, `aborted`.
   */
  setState(key: string, value: JsonValue | undefined, options?: SignalOptions): Promise<void>
  /**
   * Parses a version string this store produced.
   * @param value - a decimal sequence number such as `"42"`.
   * @returns the version.
   * @throws SyncKitError `version-parse`.
   */
  parseVersion(value: string): SequenceVersion
  /**
   * Calls `listener` after every append through this store object that stored new events (see
   * `EventStore.watch`), synchronously once it committed, with the newest version. Appends by
   * other connections or processes on the same file are not heard: pass `pollIntervalMs` to
   * have `listener` called that often without an argument as well (`watchChanges` then finds
   * their events on its next read). `backoff` is not used (there is nothing to reconnect).
   * @param listener - the wake-up; what it throws is ignored.
   * @param options - `pollIntervalMs` (default: no poll) and `timers`.
   * @returns stops watching (resolves at once); `close()` stops every watcher.
   * @throws SyncKitError `invalid-argument` (a listener that is not a function, a bad
   * `pollIntervalMs` or `timers`), `closed`.
   */
  watch(listener: (latest?: string) => void, options?: StoreWatchOptions): () => Promise<void>
  /** The connection the store uses (yours, or the one it opened). */
  readonly database: SqliteDatabase
  /**
   * Stops the store: every later call rejects with `closed`. Closes the connection only when the
   * store opened it (`openSqliteStore({ path })`); a connection you passed in stays open for you
   * to close. Idempotent.
   * @throws SyncKitError `internal` when SQLite fails to close the connection it opened.
   */
  close(): Promise<void>
}
