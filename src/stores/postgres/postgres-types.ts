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
 * What a query answers, as far as the PostgreSQL store reads it.
 * @example
 * ```ts
 * import type { PostgresQueryResult } from 'sync-kit/postgres'
 *
 * const result: PostgresQueryResult = { rows: [{ seq: '1' }], rowCount: 1 }
 * ```
 */
export interface PostgresQueryResult {
  /** The rows, one object per row keyed by column name. */
  readonly rows: unknown[]
  /** Rows the statement returned or changed (`null` for statements that report none). */
  readonly rowCount: number | null
}

/**
 * The part of a `pg` `PoolClient` (a connection checked out of the pool) the store uses.
 * @example
 * ```ts
 * import type { PostgresPoolClient } from 'sync-kit/postgres'
 *
 * async function ping(client: PostgresPoolClient): Promise<void> {
 *   await client.query('SELECT 1')
 *   client.release()
 * }
 * ```
 */
export interface PostgresPoolClient {
  /**
   * Runs a statement. Without `values`, `text` may hold several statements separated by `;`.
   * @param text - the SQL.
   * @param values - the values of `$1`, `$2`, ….
   */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>
  /**
   * Returns the connection to the pool; with `true` or an error, closes it instead (after a
   * failure that may have left it in an unknown state).
   */
  release(destroy?: boolean | Error): void
  /**
   * Listens for `'error'`: a checked-out `pg` client emits it when its connection breaks between
   * statements, and Node ends the process over an `'error'` event nobody listens to, so the store
   * listens while it holds the connection.
   */
  on?(event: 'error', listener: (error: Error) => void): unknown
  /** Listens for `NOTIFY` messages on the channels this connection `LISTEN`s to (for `watch`). */
  on?(event: 'notification', listener: (message: PostgresNotification) => void): unknown
  /** Listens for the end of the connection (for `watch`). */
  on?(event: 'end', listener: () => void): unknown
  /** Stops listening (see {@link PostgresPoolClient.on}). */
  removeListener?(event: 'error', listener: (error: Error) => void): unknown
}

/**
 * A `NOTIFY` message as `pg` delivers it.
 * @example
 * ```ts
 * import type { PostgresNotification } from 'sync-kit/postgres'
 *
 * const message: PostgresNotification = { channel: 'sync_kit_1a2b3c4d', payload: '42' }
 * ```
 */
export interface PostgresNotification {
  /** The channel. */
  readonly channel: string
  /** The payload, if any. */
  readonly payload?: string | undefined
}

/**
 * Options for {@link PostgresStore.watch}: the store contract's watch options (the fallback poll,
 * default 5000 ms; the reconnect backoff, default 100 ms doubling to 10 s; the timers).
 * @example
 * ```ts
 * import type { PostgresWatchOptions } from 'sync-kit/postgres'
 *
 * const options: PostgresWatchOptions = { pollIntervalMs: 10_000, backoff: { initialMs: 200, maxMs: 30_000 } }
 * ```
 */
export type PostgresWatchOptions = StoreWatchOptions

/**
 * The part of a `pg` (node-postgres) `Pool` the store uses: a `new Pool(config)` from `pg` 8
 * satisfies it. A structural type, so sync-kit's published types do not depend on `@types/pg`.
 * @example
 * ```ts
 * import pg from 'pg'
 * import type { PostgresPool } from 'sync-kit/postgres'
 *
 * const pool: PostgresPool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * ```
 */
export interface PostgresPool {
  /** Checks a connection out of the pool (for a transaction). */
  connect(): Promise<PostgresPoolClient>
  /**
   * Runs one statement on any free connection.
   * @param text - the SQL.
   * @param values - the values of `$1`, `$2`, ….
   */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>
}

/**
 * Options for `createPostgresStore`.
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createPostgresStore, type PostgresStoreOptions } from 'sync-kit/postgres'
 *
 * const options: PostgresStoreOptions = { pool: new pg.Pool(), schema: 'sync', tablePrefix: '' }
 * const store = await createPostgresStore(options)
 * ```
 */
export interface PostgresStoreOptions {
  /**
   * A `pg` `Pool` you created. The store checks connections out of it per call and never ends
   * it: after `store.close()`, end the pool yourself (`await pool.end()`).
   */
  readonly pool: PostgresPool
  /**
   * The schema that holds the store's tables; created when missing (which needs the `CREATE`
   * privilege on the database). A lower-case SQL identifier: letters, digits and `_`, not
   * starting with a digit.
   * @defaultValue `'public'`
   */
  readonly schema?: string
  /**
   * Put in front of every table, sequence and index name (`sync_kit_events`, …), so one schema
   * can hold several logs or the store can sit next to your own tables. Lower-case letters,
   * digits and `_`, at most 32 characters; `''` for bare names (`events`, `checkpoints`, …).
   * @defaultValue `'sync_kit_'`
   */
  readonly tablePrefix?: string
  /**
   * The clock that stamps the `created_at` column (milliseconds since the Unix epoch).
   * @defaultValue `Date.now`
   */
  readonly clock?: Clock
}

/**
 * An {@link EventStore} kept in PostgreSQL, with atomic batches, checkpoints and the epoch in the
 * same database, safe to share between several processes (server instances). Versions are
 * {@link SequenceVersion}s: the `seq` column of the events table.
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createPostgresStore, type PostgresStore } from 'sync-kit/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const store: PostgresStore = await createPostgresStore({ pool })
 * const [result] = await store.storeBatch([
 *   { id: 'e1', type: 'Created', aggregateId: 'a1', data: {} },
 * ])
 * result?.version.toString() // '1'
 * ```
 */
export interface PostgresStore extends EventStore {
  /**
   * Persists one event (a batch of one).
   * @param event - the event.
   * @param options - cancellation.
   * @returns where the event is stored and whether it was a duplicate.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `closed`, `aborted`,
   * `unavailable`, `internal`.
   */
  store(event: Event, options?: SignalOptions): Promise<StoreResult>
  /**
   * Persists a batch in one transaction (all or nothing), with the optional checkpoint in the
   * same transaction. Events already stored with the same content are duplicates: they take no
   * sequence number and write nothing.
   * @param events - the events, in order.
   * @param options - cancellation and an optional checkpoint.
   * @returns one result per event, at the same index.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `closed`, `aborted`,
   * `unavailable`, `internal`.
   */
  storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]>
  /**
   * The version of the newest stored event; {@link SequenceVersion.ZERO} while empty.
   * @throws SyncKitError `closed`, `aborted`, `unavailable`, `internal`.
   */
  latestVersion(options?: SignalOptions): Promise<SequenceVersion>
  /**
   * Parses a version string this store produced.
   * @param value - a decimal sequence number such as `"42"`.
   * @returns the version.
   * @throws SyncKitError `version-parse`.
   */
  parseVersion(value: string): SequenceVersion
  /**
   * The log's epoch, kept in the meta table: the stored one, or `candidate` when there is none
   * yet, in one atomic step, so several instances starting at once on an empty database agree.
   * @param candidate - a fresh epoch to keep if the store has none; non-empty.
   * @param options - cancellation.
   * @returns the store's epoch.
   * @throws SyncKitError `invalid-argument`, `closed`, `aborted`, `unavailable`, `internal`.
   */
  loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Gives the log a new epoch (see `EventStore.renewEpoch`), replacing the one in the meta table
   * in one statement; for a database restored from a backup.
   * @param candidate - the new epoch; non-empty, without U+0000.
   * @param options - cancellation (honoured until the statement is sent).
   * @returns `candidate`, the store's epoch from now on.
   * @throws SyncKitError `invalid-argument`, `closed`, `aborted`, `unavailable`, `internal`.
   */
  renewEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Reads a small durable value (see `EventStore.setState`) from the `state` table.
   * @param key - 1–256 characters.
   * @param options - cancellation.
   * @returns the value, or `undefined` when none is kept under `key`.
   * @throws SyncKitError `invalid-argument`, `unavailable`, `internal`, `closed`, `aborted`.
   */
  getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined>
  /**
   * Writes a small durable value as canonical JSON text, or deletes it when `value` is
   * `undefined`; committed when the promise resolves.
   * @param key - 1–256 characters, no U+0000.
   * @param value - a JSON value, or `undefined` to delete.
   * @param options - cancellation (honoured until the statement is sent).
   * @throws SyncKitError `invalid-argument` (bad key, not JSON), `unavailable`, `internal`,
   * `closed`, `aborted`.
   */
  setState(key: string, value: JsonValue | undefined, options?: SignalOptions): Promise<void>
  /**
   * Calls `listener` when any instance appends to this log: a wake-up, not the events (load them
   * from your cursor; the table is the truth). Holds one connection of the pool, which `LISTEN`s
   * on the log's channel; appends `NOTIFY` it at commit. When the connection breaks, it
   * reconnects with backoff and calls `listener` once it listens again (appends may have been
   * missed meanwhile), and a fallback poll calls `listener` every `pollIntervalMs` whatever
   * happens. A listener that throws is ignored.
   * @param listener - called with the newest version as a string when a notification says so,
   * without an argument on a poll or after a reconnect.
   * @param options - the poll interval, the reconnect backoff, the timers.
   * @returns a function that stops watching and closes the listening connection.
   * @throws SyncKitError `invalid-argument` for bad options, `closed` after `close()`.
   */
  watch(listener: (latest?: string) => void, options?: PostgresWatchOptions): () => Promise<void>
  /**
   * One round trip to the database (`SELECT 1`), for health checks; changes nothing.
   * @param options - cancellation: rejects with `aborted` as soon as the signal fires.
   * @throws SyncKitError `unavailable` when the database cannot be reached, `closed`, `aborted`.
   */
  ping(options?: SignalOptions): Promise<void>
  /** The pool the store uses (yours). */
  readonly pool: PostgresPool
  /**
   * Stops the store: every later call rejects with `closed`, watchers stop. Waits for calls
   * already running to finish, so ending the pool afterwards is safe. Never ends the pool.
   * Idempotent.
   */
  close(): Promise<void>
}
