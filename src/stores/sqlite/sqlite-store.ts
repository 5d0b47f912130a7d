import { throwIfAborted } from '../../errors/abort.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import {
  checkBatchCheckpoint,
  checkCheckpointKey,
  checkCheckpointValue,
} from '../../core/checkpoint.js'
import { isSealedEvent, validateEvent } from '../../core/event-validation.js'
import { groupFilters, includeTombstones, validateLimit } from '../../core/filters.js'
import type {
  Checkpoint,
  CheckpointKey,
  Clock,
  Event,
  EventWithVersion,
  JsonValue,
  LoadOptions,
  SignalOptions,
  StoreBatchOptions,
  StoreResult,
  StoreWatchOptions,
  Version,
} from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { checkStateKey, checkStateValue } from '../../core/state.js'
import { checkEpoch } from '../../core/epoch.js'
import { wakeWatchers, watchWithPoll } from '../../core/append-watchers.js'
import type { Watchers } from '../../core/append-watchers.js'
import { SQLITE_PREFIX, toSyncKitError } from './sqlite-errors.js'
import { migrateSqliteSchema } from './sqlite-migrations.js'
import {
  checkCommonOptions,
  checkDatabase,
  checkOptionsObject,
  describe,
  loadBetterSqlite3,
} from './sqlite-options.js'
import type { CommonSettings } from './sqlite-options.js'
import { type InsertStatements, insertFresh, planBatch, prepareInserts } from './sqlite-append.js'
import { buildLoadQuery } from './sqlite-queries.js'
import { EVENT_COLUMNS, rowToEvent } from './sqlite-rows.js'
import type { EventRow } from './sqlite-rows.js'
import { SqliteTransactions } from './sqlite-transaction.js'
import type {
  OpenSqliteStoreOptions,
  SqliteDatabase,
  SqliteStatement,
  SqliteStore,
  SqliteStoreOptions,
} from './sqlite-types.js'

export { DEFAULT_SQLITE_BUSY_TIMEOUT_MS, DEFAULT_SQLITE_SYNCHRONOUS } from './sqlite-options.js'

/** How many differently shaped load statements (filter combinations) stay prepared. */
const LOAD_STATEMENT_CACHE_SIZE = 64

const COMPONENT = 'sqlite'

/**
 * Creates an event store on a `better-sqlite3` connection you opened: creates or migrates the
 * schema (see `docs/stores.md`), puts the connection in WAL mode and returns at once.
 *
 * The store never closes your connection; close it yourself after `store.close()`. To let the
 * store open (and close) the file, use {@link openSqliteStore}.
 *
 * @param options - the connection and durability settings.
 * @returns the store.
 * @throws SyncKitError `invalid-argument` for bad options (e.g. a closed database or a `path`,
 * which needs {@link openSqliteStore}); `incompatible-database` when the database has a newer
 * schema or tables named like the store's that it did not create; `unavailable` when another
 * connection holds the lock for longer than `busyTimeoutMs`; `internal` for other SQLite errors.
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * import { createSqliteStore } from 'sync-kit/sqlite'
 *
 * const database = new Database('app.db')
 * const store = createSqliteStore({ database })
 * await store.storeBatch([{ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }])
 * await store.close()
 * database.close()
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  checkOptionsObject(options, 'createSqliteStore')
  if ((options as { database?: unknown }).database === undefined) {
    throw new SyncKitError(
      'invalid-argument',
      'path' in options
        ? `${SQLITE_PREFIX} createSqliteStore takes an open database; to open a file by path use \`await openSqliteStore({ path })\``
        : `${SQLITE_PREFIX} createSqliteStore needs a \`database\` (a better-sqlite3 Database)`,
      { argument: 'database' },
    )
  }
  checkDatabase(options.database)
  return new SqliteEventStore(options.database, checkCommonOptions(options), false)
}

/**
 * Opens an event store. With `path`, loads `better-sqlite3` (an optional peer dependency: only
 * this call loads it), opens or creates the file (`':memory:'` for a private in-memory database)
 * and owns the connection: `store.close()` closes it. With `database`, same as
 * {@link createSqliteStore}.
 *
 * @param options - a `path` or a `database`, and durability settings.
 * @returns the store, once the schema is ready.
 * @throws SyncKitError as {@link createSqliteStore}; `missing-dependency` when `better-sqlite3` is
 * not installed; `unavailable` or `internal` when the file cannot be opened (as the store's other
 * storage failures: `unavailable` for a full disk, a read-only or missing directory, …).
 * @example
 * ```ts
 * import { openSqliteStore } from 'sync-kit/sqlite'
 *
 * const store = await openSqliteStore({ path: 'events.db' })
 * const latest = await store.latestVersion()
 * await store.close()
 * ```
 */
export async function openSqliteStore(options: OpenSqliteStoreOptions): Promise<SqliteStore> {
  checkOptionsObject(options, 'openSqliteStore')
  if ((options as { database?: unknown }).database !== undefined) {
    return createSqliteStore(options as SqliteStoreOptions)
  }
  const path = (options as { path?: unknown }).path
  if (typeof path !== 'string' || path === '') {
    throw new SyncKitError(
      'invalid-argument',
      `${SQLITE_PREFIX} openSqliteStore needs a \`path\` (a file path or ':memory:') or a \`database\`, got ${describe(path)}`,
      { argument: 'path' },
    )
  }
  const common = checkCommonOptions(options)
  const Database = await loadBetterSqlite3()
  let database: SqliteDatabase
  try {
    database = new Database(path)
  } catch (error) {
    throw toSyncKitError(error, `opening "${path}"`)
  }
  try {
    return new SqliteEventStore(database, common, true)
  } catch (error) {
    database.close()
    throw error
  }
}

/** The largest `seq` SQLite can hold (a signed 64-bit integer). */
const MAX_SEQ = 2n ** 63n - 1n

function bigintMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

class SqliteEventStore implements SqliteStore {
  readonly database: SqliteDatabase
  readonly #ownsDatabase: boolean
  readonly #clock: Clock
  readonly #transactions: SqliteTransactions
  readonly #insert: InsertStatements
  readonly #selectById: SqliteStatement
  readonly #selectByIds: SqliteStatement
  readonly #dataVersion: SqliteStatement
  readonly #selectLatest: SqliteStatement
  readonly #selectCheckpoint: SqliteStatement
  readonly #upsertCheckpoint: SqliteStatement
  readonly #selectEpoch: SqliteStatement
  readonly #keepEpoch: SqliteStatement
  readonly #replaceEpoch: SqliteStatement
  readonly #selectState: SqliteStatement
  readonly #upsertState: SqliteStatement
  readonly #deleteState: SqliteStatement
  /** SQL → prepared load statement, least recently used first. */
  readonly #loadStatements = new Map<string, SqliteStatement>()
  readonly #watchers: Watchers = new Set()
  #closed = false

  constructor(database: SqliteDatabase, settings: CommonSettings, ownsDatabase: boolean) {
    this.database = database
    this.#ownsDatabase = ownsDatabase
    this.#clock = settings.clock
    try {
      if (settings.configureConnection) {
        // busy_timeout first, so that switching to WAL waits for other connections' locks.
        database.pragma(`busy_timeout = ${settings.busyTimeoutMs}`)
        // An in-memory database answers 'memory' and stays so: it has no file to log to.
        database.pragma('journal_mode = WAL')
        database.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
      }
      migrateSqliteSchema(database)
      this.#transactions = new SqliteTransactions(database)
      this.#insert = prepareInserts((sql) => this.#prepare(sql))
      this.#selectById = this.#prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`)
      // A batch's ids in one statement (a JSON array bound as one parameter): one call into
      // SQLite per batch, not one per event.
      this.#selectByIds = this.#prepare(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?))`,
      )
      // Changes when another connection commits: tells whether a read is still current.
      this.#dataVersion = this.#prepare('PRAGMA data_version')
      this.#selectLatest = this.#prepare('SELECT max(seq) AS seq FROM events')
      this.#selectCheckpoint = this.#prepare(
        'SELECT version, epoch FROM checkpoints WHERE remote = ? AND direction = ?',
      )
      this.#upsertCheckpoint = this.#prepare(
        'INSERT INTO checkpoints (remote, direction, version, epoch) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (remote, direction) DO UPDATE SET version = excluded.version, epoch = excluded.epoch',
      )
      this.#selectEpoch = this.#prepare("SELECT value FROM sync_kit_meta WHERE key = 'epoch'")
      this.#keepEpoch = this.#prepare(
        "INSERT INTO sync_kit_meta (key, value) VALUES ('epoch', ?) ON CONFLICT (key) DO NOTHING",
      )
      this.#replaceEpoch = this.#prepare(
        "INSERT INTO sync_kit_meta (key, value) VALUES ('epoch', ?) " +
          'ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      this.#selectState = this.#prepare('SELECT value FROM sync_kit_state WHERE key = ?')
      this.#upsertState = this.#prepare(
        'INSERT INTO sync_kit_state (key, value) VALUES (?, ?) ' +
          'ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      this.#deleteState = this.#prepare('DELETE FROM sync_kit_state WHERE key = ?')
    } catch (error) {
      throw toSyncKitError(error, 'opening the store')
    }
  }

  async store(event: Event, options?: SignalOptions): Promise<StoreResult> {
    const signal = options?.signal
    const results = this.#storeBatch('store', [event], signal === undefined ? {} : { signal })
    return results[0] as StoreResult
  }

  async storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]> {
    return this.#storeBatch('storeBatch', events, options)
  }

  #storeBatch(
    what: string,
    events: readonly Event[],
    options: StoreBatchOptions | undefined,
  ): StoreResult[] {
    this.#guard(what, options?.signal)
    if (!Array.isArray(events)) {
      throw new SyncKitError(
        'invalid-argument',
        `${SQLITE_PREFIX} storeBatch needs an array of events, got ${describe(events)}`,
        { argument: 'events' },
      )
    }
    // Validate everything before the transaction: a bad event changes nothing. A frozen copy
    // validateEvent made is valid and cannot have changed; the store only reads it.
    const valid = events.map((event) =>
      isSealedEvent(event) ? event : validateEvent(event, COMPONENT),
    )
    const checkpoint = checkBatchCheckpoint(options?.checkpoint, COMPONENT)
    if (valid.length === 0 && checkpoint === undefined) return []
    const createdAt = this.#now()
    try {
      // Looked up first, without the write lock: a batch of duplicates answers from this read,
      // with no transaction, no write and no sequence number drawn.
      const seen = this.#readDataVersion()
      const planned = planBatch(valid, this.#stored(valid))
      if (planned.fresh.length === 0 && checkpoint === undefined) return planned.results
      const results = this.#transactions.run(() => {
        // Again under the write lock if another connection committed since: it may have stored
        // some of them meanwhile.
        const plan =
          this.#readDataVersion() === seen ? planned : planBatch(valid, this.#stored(valid))
        insertFresh(this.#insert, valid, plan, createdAt)
        // In-batch repeats of a new id take the version its first occurrence got.
        for (const [index, first] of plan.repeats) {
          plan.results[index] = {
            version: (plan.results[first] as StoreResult).version,
            duplicate: true,
          }
        }
        if (checkpoint !== undefined) this.#writeCheckpoint(checkpoint.key, checkpoint.value)
        return plan.results
      })
      // Committed (or inside the caller's own transaction on this connection, whose reads see it).
      let latest: StoreResult | undefined
      for (const result of results) if (!result.duplicate) latest = result
      if (latest !== undefined) wakeWatchers(this.#watchers, latest.version.toString())
      return results
    } catch (error) {
      throw toSyncKitError(error, what)
    }
  }

  async load(since: Version | null, options?: LoadOptions): Promise<EventWithVersion[]> {
    return this.#load('load', undefined, since, options)
  }

  async loadByAggregate(
    aggregateId: string,
    since: Version | null,
    options?: LoadOptions,
  ): Promise<EventWithVersion[]> {
    if (typeof aggregateId !== 'string' || aggregateId === '') {
      this.#guard('loadByAggregate', options?.signal)
      throw new SyncKitError(
        'invalid-argument',
        `${SQLITE_PREFIX} loadByAggregate needs a non-empty aggregateId, got ${describe(aggregateId)}`,
        { argument: 'aggregateId' },
      )
    }
    return this.#load('loadByAggregate', aggregateId, since, options)
  }

  async latestVersion(options?: SignalOptions): Promise<SequenceVersion> {
    this.#guard('latestVersion', options?.signal)
    let row: { seq: bigint | null } | undefined
    try {
      row = this.#selectLatest.get() as { seq: bigint | null } | undefined
    } catch (error) {
      throw toSyncKitError(error, 'latestVersion')
    }
    return row?.seq == null ? SequenceVersion.ZERO : new SequenceVersion(row.seq)
  }

  parseVersion(value: string): SequenceVersion {
    return SequenceVersion.parse(value)
  }

  async getCheckpoint(
    key: CheckpointKey,
    options?: SignalOptions,
  ): Promise<Checkpoint | undefined> {
    this.#guard('getCheckpoint', options?.signal)
    const checked = checkCheckpointKey(key, COMPONENT)
    let row: { version: string; epoch: string | null } | undefined
    try {
      row = this.#selectCheckpoint.get(checked.remote, checked.direction) as typeof row
    } catch (error) {
      throw toSyncKitError(error, 'getCheckpoint')
    }
    if (row === undefined) return undefined
    return row.epoch === null
      ? { version: row.version }
      : { version: row.version, epoch: row.epoch }
  }

  async setCheckpoint(
    key: CheckpointKey,
    value: Checkpoint,
    options?: SignalOptions,
  ): Promise<void> {
    this.#guard('setCheckpoint', options?.signal)
    const checked = {
      key: checkCheckpointKey(key, COMPONENT),
      value: checkCheckpointValue(value, COMPONENT),
    }
    try {
      this.#writeCheckpoint(checked.key, checked.value)
    } catch (error) {
      throw toSyncKitError(error, 'setCheckpoint')
    }
  }

  async getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined> {
    this.#guard('getState', options?.signal)
    const checked = checkStateKey(key, COMPONENT)
    let row: { value: string } | undefined
    try {
      row = this.#selectState.get(checked) as typeof row
    } catch (error) {
      throw toSyncKitError(error, 'getState')
    }
    return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue)
  }

  async setState(
    key: string,
    value: JsonValue | undefined,
    options?: SignalOptions,
  ): Promise<void> {
    this.#guard('setState', options?.signal)
    const checked = checkStateKey(key, COMPONENT)
    const text = value === undefined ? undefined : checkStateValue(value, COMPONENT)
    try {
      if (text === undefined) this.#deleteState.run(checked)
      else this.#upsertState.run(checked, text)
    } catch (error) {
      throw toSyncKitError(error, 'setState')
    }
  }

  /**
   * Reads the epoch; when there is none, keeps `candidate` as it under SQLite's write lock
   * (`BEGIN IMMEDIATE`) and reads it back: servers opening one new file together all get the first
   * one's epoch. An existing epoch costs no write, so a read-only database still serves reads.
   */
  async loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    this.#guard('loadOrCreateEpoch', options?.signal)
    const epoch = checkEpoch(candidate, COMPONENT)
    try {
      // An existing epoch is only read, so a server on a database it may only read still serves
      // reads. A new one is created under SQLite's write lock (`BEGIN IMMEDIATE`) and read back:
      // servers opening one new file together all get the first one's epoch.
      const kept = this.#selectEpoch.get() as { value: string } | undefined
      if (kept !== undefined) return kept.value
      return this.#transactions.run(() => {
        this.#keepEpoch.run(epoch)
        return (this.#selectEpoch.get() as { value: string }).value
      })
    } catch (error) {
      // A read-only file or filesystem becomes `unavailable` ("cannot write to the database").
      throw toSyncKitError(error, 'loadOrCreateEpoch')
    }
  }

  /** Replaces the epoch in `sync_kit_meta`, under SQLite's write lock (`BEGIN IMMEDIATE`). */
  async renewEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    this.#guard('renewEpoch', options?.signal)
    const epoch = checkEpoch(candidate, COMPONENT)
    try {
      this.#transactions.run(() => this.#replaceEpoch.run(epoch))
    } catch (error) {
      throw toSyncKitError(error, 'renewEpoch')
    }
    return epoch
  }

  watch(listener: (latest?: string) => void, options?: StoreWatchOptions): () => Promise<void> {
    this.#guard('watch', undefined)
    return watchWithPoll(this.#watchers, listener, options, COMPONENT)
  }

  /**
   * Marks the store closed and, only when the store opened the connection itself (a `path` given
   * to `openSqliteStore`), closes the connection. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#watchers.clear()
    this.#loadStatements.clear()
    if (this.#ownsDatabase && this.database.open) {
      try {
        this.database.close()
      } catch (error) {
        throw toSyncKitError(error, 'close')
      }
    }
  }

  #load(
    what: string,
    aggregateId: string | undefined,
    since: Version | null,
    options: LoadOptions | undefined,
  ): EventWithVersion[] {
    this.#guard(what, options?.signal)
    // `seq` is a signed 64-bit integer, and SQLite refuses to bind a larger bigint: a cursor past
    // the largest seq (a client's garbage Last-Event-ID) has nothing after it, as at the maximum.
    const after = bigintMin(SequenceVersion.from(since).value, MAX_SEQ)
    const limit = validateLimit(options?.limit, COMPONENT)
    // A `type` filter matches deletes too (the delete rule of `Filter`).
    const groups = includeTombstones(groupFilters(options?.filters, COMPONENT))
    const query = buildLoadQuery(aggregateId, after, groups, limit)
    let rows: EventRow[]
    try {
      rows = this.#loadStatement(query.sql).all(...query.params) as EventRow[]
    } catch (error) {
      throw toSyncKitError(error, what)
    }
    return rows.map(rowToEvent)
  }

  #loadStatement(sql: string): SqliteStatement {
    let statement = this.#loadStatements.get(sql)
    if (statement !== undefined) {
      // Refresh its place in the least-recently-used order.
      this.#loadStatements.delete(sql)
    } else {
      statement = this.#prepare(sql)
      if (this.#loadStatements.size >= LOAD_STATEMENT_CACHE_SIZE) {
        const oldest = this.#loadStatements.keys().next().value
        if (oldest !== undefined) this.#loadStatements.delete(oldest)
      }
    }
    this.#loadStatements.set(sql, statement)
    return statement
  }

  /** `PRAGMA data_version`: the same value as long as no other connection committed. */
  #readDataVersion(): unknown {
    return (this.#dataVersion.get() as { data_version: unknown }).data_version
  }

  /** The stored rows of a batch's ids, by id (for {@link planBatch}). */
  #stored(events: readonly Event[]): ReadonlyMap<string, EventRow> {
    const stored = new Map<string, EventRow>()
    if (events.length === 1) {
      const row = this.#selectById.get((events[0] as Event).id) as EventRow | undefined
      if (row !== undefined) stored.set(row.id, row)
      return stored
    }
    const rows = this.#selectByIds.all(JSON.stringify(events.map((event) => event.id)))
    for (const row of rows as EventRow[]) stored.set(row.id, row)
    return stored
  }

  #writeCheckpoint(key: CheckpointKey, value: Checkpoint): void {
    this.#upsertCheckpoint.run(key.remote, key.direction, value.version, value.epoch ?? null)
  }

  #prepare(sql: string): SqliteStatement {
    return this.database.prepare(sql).safeIntegers(true)
  }

  #now(): number {
    const now = this.#clock.now()
    if (!Number.isFinite(now)) {
      throw new SyncKitError(
        'invalid-argument',
        `${SQLITE_PREFIX} the clock returned ${String(now)}; clock.now() must return milliseconds since the Unix epoch`,
        { argument: 'clock' },
      )
    }
    return Math.trunc(now)
  }

  #guard(what: string, signal: AbortSignal | undefined): void {
    if (this.#closed) {
      throw new SyncKitError(
        'closed',
        `${SQLITE_PREFIX} ${what} called after close(); open a new store to keep using the database`,
        {},
      )
    }
    throwIfAborted(signal, `${SQLITE_PREFIX} ${what}`)
    if (!this.database.open) {
      throw new SyncKitError(
        'closed',
        `${SQLITE_PREFIX} ${what} failed: the database connection was closed outside the store; close the store before its connection`,
        {},
      )
    }
  }
}
