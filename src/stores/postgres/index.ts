/**
 * The PostgreSQL event store for Node: events, sync checkpoints and the epoch in one PostgreSQL
 * database, shared safely by several processes (server instances), on a `pg` (node-postgres)
 * pool you create — `pg` is an optional peer dependency this entry never imports.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createPostgresStore } from 'sync-kit/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const store = await createPostgresStore({ pool })
 * await store.storeBatch([{ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }])
 * const page = await store.load(null, { limit: 100 })
 * await store.close()
 * await pool.end()
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/postgres
 */
export { createPostgresStore } from './postgres-store.js'
export { POSTGRES_SCHEMA_VERSION } from './postgres-migrations.js'
export { DEFAULT_POSTGRES_SCHEMA, DEFAULT_POSTGRES_TABLE_PREFIX } from './postgres-names.js'
export type {
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryResult,
  PostgresStore,
  PostgresStoreOptions,
  PostgresWatchOptions,
} from './postgres-types.js'
