import { SyncKitError } from '../../errors/sync-kit-error.js'
import { SQLITE_PREFIX } from './sqlite-errors.js'
import { SqliteTransactions } from './sqlite-transaction.js'
import type { SqliteDatabase } from './sqlite-types.js'

/** One step of the SQLite store's schema, from `version - 1` to `version`. */
export interface SqliteMigration {
  /** The `PRAGMA user_version` after the step: 1, 2, 3, … with no gaps. */
  readonly version: number
  /** What the step changes, for humans. */
  readonly description: string
  /**
   * Applies the step. Runs inside a transaction that also sets `user_version`, so a step is
   * applied wholly or not at all.
   * @param db - the connection.
   */
  up(db: SqliteDatabase): void
}

/**
 * Schema version 1. `STRICT` tables, so a column never silently changes type: JSON stays `TEXT`
 * (a column declared `JSON` would get NUMERIC affinity and turn the text `"12"` into the integer
 * 12). `AUTOINCREMENT` keeps `seq` from ever being reused, even if rows were deleted by hand.
 */
const SCHEMA_V1 = `
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  tenant TEXT,
  data TEXT NOT NULL,
  metadata TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_aggregate_id_seq ON events (aggregate_id, seq);
CREATE INDEX events_type_seq ON events (type, seq);
CREATE INDEX events_tenant_seq ON events (tenant, seq) WHERE tenant IS NOT NULL;
CREATE TABLE checkpoints (
  remote TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
  version TEXT NOT NULL,
  epoch TEXT,
  PRIMARY KEY (remote, direction)
) STRICT, WITHOUT ROWID;
`

/**
 * Schema version 2: a `sync_kit_meta` table for facts about the log itself, starting with the server's
 * epoch, which earlier servers kept as the checkpoint `sync-kit:server`; it moves over, so an
 * existing database keeps its epoch (and its clients' checkpoints stay valid).
 */
const SCHEMA_V2 = `
CREATE TABLE sync_kit_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO sync_kit_meta (key, value)
  SELECT 'epoch', epoch FROM checkpoints
  WHERE remote = 'sync-kit:server' AND direction = 'pull' AND epoch IS NOT NULL AND epoch <> '';
DELETE FROM checkpoints WHERE remote = 'sync-kit:server' AND direction = 'pull';
`

/**
 * Schema version 3: `sync_kit_state`, the small durable values a replica keeps beside its log
 * (`getState`/`setState`: refusals, quarantine, clock floor, what a remote holds), as JSON text.
 */
const SCHEMA_V3 = `
CREATE TABLE sync_kit_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
`

/** The schema steps, in order. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: 'events and checkpoints tables, indexes for seq, aggregate, type and tenant',
    up(db) {
      db.exec(SCHEMA_V1)
    },
  },
  {
    version: 2,
    description:
      "sync_kit_meta table holding the server's epoch (moved from the sync-kit:server checkpoint)",
    up(db) {
      db.exec(SCHEMA_V2)
    },
  },
  {
    version: 3,
    description: 'sync_kit_state table for getState/setState (JSON values by key)',
    up(db) {
      db.exec(SCHEMA_V3)
    },
  },
]

/**
 * The schema version this code writes and reads (`PRAGMA user_version`).
 * @example
 * ```ts
 * import { SQLITE_SCHEMA_VERSION } from 'sync-kit/sqlite'
 *
 * database.pragma('user_version', { simple: true }) === SQLITE_SCHEMA_VERSION
 * ```
 */
export const SQLITE_SCHEMA_VERSION: number = SQLITE_MIGRATIONS.length

interface ExpectedColumn {
  readonly name: string
  readonly type: string
  readonly notNull: boolean
  /** Position in the primary key (1-based), 0 when not part of it. */
  readonly pk: number
}

/** The schema version that created each table (tables of later versions are not expected yet). */
const TABLE_SINCE: Readonly<Record<string, number>> = {
  events: 1,
  checkpoints: 1,
  sync_kit_meta: 2,
  sync_kit_state: 3,
}

/** The tables of the latest schema with their columns, to recognise a sync-kit database. */
const EXPECTED_TABLES: Readonly<Record<string, readonly ExpectedColumn[]>> = {
  events: [
    { name: 'seq', type: 'INTEGER', notNull: false, pk: 1 },
    { name: 'id', type: 'TEXT', notNull: true, pk: 0 },
    { name: 'type', type: 'TEXT', notNull: true, pk: 0 },
    { name: 'aggregate_id', type: 'TEXT', notNull: true, pk: 0 },
    { name: 'tenant', type: 'TEXT', notNull: false, pk: 0 },
    { name: 'data', type: 'TEXT', notNull: true, pk: 0 },
    { name: 'metadata', type: 'TEXT', notNull: false, pk: 0 },
    { name: 'created_at', type: 'INTEGER', notNull: true, pk: 0 },
  ],
  checkpoints: [
    { name: 'remote', type: 'TEXT', notNull: true, pk: 1 },
    { name: 'direction', type: 'TEXT', notNull: true, pk: 2 },
    { name: 'version', type: 'TEXT', notNull: true, pk: 0 },
    { name: 'epoch', type: 'TEXT', notNull: false, pk: 0 },
  ],
  sync_kit_meta: [
    { name: 'key', type: 'TEXT', notNull: true, pk: 1 },
    { name: 'value', type: 'TEXT', notNull: true, pk: 0 },
  ],
  sync_kit_state: [
    { name: 'key', type: 'TEXT', notNull: true, pk: 1 },
    { name: 'value', type: 'TEXT', notNull: true, pk: 0 },
  ],
}

/** The tables a database at `userVersion` has. */
function tablesAt(userVersion: number): string[] {
  return Object.keys(EXPECTED_TABLES).filter((table) => (TABLE_SINCE[table] ?? 1) <= userVersion)
}

/** The outcome of {@link migrateSqliteSchema}. */
export interface SqliteMigrationResult {
  /** `user_version` before. */
  readonly from: number
  /** `user_version` after. */
  readonly to: number
}

/**
 * Brings a database to the latest schema: runs each missing step in order, each in its own
 * transaction together with the `user_version` bump, then checks the tables look like sync-kit's.
 * Safe against another connection migrating at the same time (each step re-reads the version
 * under the write lock).
 * @param db - the connection.
 * @param migrations - the steps (the store's own by default; tests pass others).
 * @returns the version before and after.
 * @throws SyncKitError `incompatible-database` when the database has a newer schema than the
 * steps know, or tables named like the store's that it did not create (nothing is changed);
 * whatever a step throws (the step is rolled back, earlier steps stay).
 */
export function migrateSqliteSchema(
  db: SqliteDatabase,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
): SqliteMigrationResult {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration ${i} has version ${m.version}, expected ${i + 1}`)
    }
  })
  const supported = migrations.length
  const from = readUserVersion(db)
  assertNotNewer(from, supported)
  if (from > 0) assertTablesExist(db, from, supported)
  const transactions = new SqliteTransactions(db)
  for (const migration of migrations) {
    if (migration.version <= from) continue
    transactions.run(() => {
      // Re-read under the write lock: another connection may have migrated since.
      const current = readUserVersion(db)
      if (current >= migration.version) return
      if (current === 0) assertNoForeignTables(db, supported)
      migration.up(db)
      db.pragma(`user_version = ${migration.version}`)
    })
  }
  const to = readUserVersion(db)
  assertNotNewer(to, supported)
  assertSchema(db, to, supported)
  return { from, to }
}

/**
 * Reads `PRAGMA user_version`.
 * @param db - the connection.
 * @returns the version as a number.
 */
export function readUserVersion(db: SqliteDatabase): number {
  return Number(db.pragma('user_version', { simple: true }))
}

function assertNotNewer(userVersion: number, supported: number): void {
  if (userVersion > supported) {
    throw new SyncKitError(
      'incompatible-database',
      `${SQLITE_PREFIX} the database has schema version ${userVersion} but this sync-kit knows versions up to ${supported}; it was written by a newer sync-kit, so upgrade sync-kit to open it`,
      { userVersion, supportedVersion: supported },
    )
  }
}

function tableNames(db: SqliteDatabase): Set<string> {
  const rows = db
    .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')")
    .all() as { name: string }[]
  return new Set(rows.map((r) => r.name))
}

function assertNoForeignTables(db: SqliteDatabase, supported: number): void {
  const names = tableNames(db)
  for (const table of Object.keys(EXPECTED_TABLES)) {
    if (names.has(table)) {
      throw new SyncKitError(
        'incompatible-database',
        `${SQLITE_PREFIX} the database already has a table or view "${table}" that sync-kit did not create (user_version is 0); it is not a sync-kit database, so use a separate database file for the store`,
        { userVersion: 0, supportedVersion: supported, table },
      )
    }
  }
}

function assertTablesExist(db: SqliteDatabase, userVersion: number, supported: number): void {
  const names = tableNames(db)
  for (const table of tablesAt(userVersion)) {
    if (!names.has(table)) {
      throw new SyncKitError(
        'incompatible-database',
        `${SQLITE_PREFIX} the database has user_version ${userVersion} but no "${table}" table; it is not a sync-kit database (another tool sets user_version), so use a separate database file for the store`,
        { userVersion, supportedVersion: supported, table },
      )
    }
  }
}

function assertSchema(db: SqliteDatabase, userVersion: number, supported: number): void {
  assertTablesExist(db, userVersion, supported)
  const info = db.prepare('SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid')
  for (const table of tablesAt(userVersion)) {
    const expected = EXPECTED_TABLES[table] ?? []
    const actual = (
      info.all(table) as { name: string; type: string; notnull: unknown; pk: unknown }[]
    )
      .map(
        (c) =>
          `${c.name} ${c.type.toUpperCase()}${Number(c.notnull) ? ' NOT NULL' : ''}${Number(c.pk) ? ` PK${Number(c.pk)}` : ''}`,
      )
      .join(', ')
    const wanted = expected
      .map((c) => `${c.name} ${c.type}${c.notNull ? ' NOT NULL' : ''}${c.pk ? ` PK${c.pk}` : ''}`)
      .join(', ')
    if (actual !== wanted) {
      throw new SyncKitError(
        'incompatible-database',
        `${SQLITE_PREFIX} table "${table}" has columns (${actual}) but sync-kit expects (${wanted}); it is not a sync-kit database, so use a separate database file for the store`,
        { userVersion, supportedVersion: supported, table },
      )
    }
  }
}
