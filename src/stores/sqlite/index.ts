/**
 * The SQLite event store for Node: events and sync checkpoints in one SQLite file (WAL mode,
 * atomic batches, schema migrations), on `better-sqlite3`, an optional peer dependency that only
 * {@link openSqliteStore} with a `path` loads.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from 'sync-kit/sqlite'
 *
 * const store = await openSqliteStore({ path: 'events.db' })
 * await store.storeBatch([{ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }])
 * const page = await store.load(null, { limit: 100 })
 * await store.close()
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/sqlite
 */
export { DEFAULT_SQLITE_BUSY_TIMEOUT_MS, DEFAULT_SQLITE_SYNCHRONOUS } from './sqlite-options.js'
export { createSqliteStore, openSqliteStore } from './sqlite-store.js'
export { SQLITE_SCHEMA_VERSION } from './sqlite-migrations.js'
export type {
  OpenSqliteStoreOptions,
  OpenSqliteStorePathOptions,
  SqliteDatabase,
  SqliteRunResult,
  SqliteStatement,
  SqliteStore,
  SqliteStoreCommonOptions,
  SqliteStoreOptions,
  SqliteSynchronous,
} from './sqlite-types.js'
