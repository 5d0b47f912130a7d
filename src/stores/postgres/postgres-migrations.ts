import { SyncKitError } from '../../errors/sync-kit-error.js'
import { POSTGRES_PREFIX, toSyncKitError } from './postgres-errors.js'
import { LOCK_CLASS, type PostgresNames } from './postgres-names.js'
import { checkOut } from './postgres-connection.js'
import type { PostgresPool, PostgresPoolClient } from './postgres-types.js'

/** One step of the PostgreSQL store's schema, from `version - 1` to `version`. */
export interface PostgresMigration {
  /** The schema version after the step: 1, 2, 3, … with no gaps. */
  readonly version: number
  /** What the step changes, for humans (kept in the schema version table). */
  readonly description: string
  /**
   * The step's SQL for one store's names. It runs in the migrating transaction, together with
   * the row that records it, so a step is applied wholly or not at all.
   * @param names - the store's object names.
   * @returns one or more statements.
   */
  sql(names: PostgresNames): string
}

/**
 * Schema version 1. The identifying text columns use the "C" collation: the store only compares
 * them for equality, and bytewise comparison keeps their indexes cheap. `data` and `metadata` are
 * `json`, not `jsonb`: `json` keeps the exact text written (key order, number spelling,
 * `\u0000`), so an event reads back exactly as it was stored, while still being checked as JSON
 * and usable with PostgreSQL's JSON operators. `seq` values come from a sequence that only the
 * append path draws from, under the append lock (docs/stores.md, "visibility").
 */
function schemaV1(n: PostgresNames): string {
  return `
CREATE SEQUENCE ${n.sequence} AS bigint MINVALUE 1 NO CYCLE;
CREATE TABLE ${n.events} (
  seq bigint PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  type text COLLATE "C" NOT NULL,
  aggregate_id text COLLATE "C" NOT NULL,
  tenant text COLLATE "C",
  data json NOT NULL,
  metadata json,
  created_at timestamptz NOT NULL
);
CREATE INDEX ${n.object('events_aggregate_id_seq')} ON ${n.events} (aggregate_id, seq);
CREATE INDEX ${n.object('events_type_seq')} ON ${n.events} (type, seq);
CREATE INDEX ${n.object('events_tenant_seq')} ON ${n.events} (tenant, seq) WHERE tenant IS NOT NULL;
CREATE TABLE ${n.checkpoints} (
  remote text COLLATE "C" NOT NULL,
  direction text NOT NULL CHECK (direction IN ('push', 'pull')),
  version text NOT NULL,
  epoch text,
  PRIMARY KEY (remote, direction)
);
CREATE TABLE ${n.meta} (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);`
}

/**
 * Schema version 2: the `state` table behind `getState`/`setState` (the small durable values a
 * replica keeps beside its log), JSON text by key.
 */
function schemaV2(n: PostgresNames): string {
  return `
CREATE TABLE ${n.state} (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);`
}

/** The schema steps, in order. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'events (seq, id, type, aggregate_id, tenant, data, metadata), checkpoints, meta',
    sql: schemaV1,
  },
  { version: 2, description: 'state (key, value): getState/setState', sql: schemaV2 },
]

/**
 * The schema version this code writes and reads (the highest row of the schema version table).
 * @example
 * ```ts
 * import { POSTGRES_SCHEMA_VERSION } from 'sync-kit/postgres'
 *
 * POSTGRES_SCHEMA_VERSION // 2
 * ```
 */
export const POSTGRES_SCHEMA_VERSION: number = POSTGRES_MIGRATIONS.length

/** `table → column → type` of the latest schema, to recognise the store's own tables. */
function expectedColumns(n: PostgresNames): Readonly<Record<string, readonly string[]>> {
  return {
    [n.tables.events]: [
      'seq bigint not null',
      'id text not null',
      'type text not null',
      'aggregate_id text not null',
      'tenant text',
      'data json not null',
      'metadata json',
      'created_at timestamp with time zone not null',
    ],
    [n.tables.checkpoints]: [
      'remote text not null',
      'direction text not null',
      'version text not null',
      'epoch text',
    ],
    [n.tables.meta]: ['key text not null', 'value text not null'],
    [n.tables.state]: ['key text not null', 'value text not null'],
  }
}

/** The outcome of {@link migratePostgresSchema}. */
export interface PostgresMigrationResult {
  /** The schema version before. */
  readonly from: number
  /** The schema version after. */
  readonly to: number
}

/**
 * Brings one store's tables to the latest schema: in one transaction, under a transaction-level
 * advisory lock of its own, so that several processes starting at once migrate once (the others
 * wait for the lock, then find the work done). Creates the schema when missing, refuses a
 * database it cannot use, runs each missing step and records it, then checks that the tables
 * look like the store's. PostgreSQL's DDL is transactional, so a failed step leaves nothing.
 * @param pool - the pool.
 * @param names - the store's object names.
 * @param migrations - the steps (the store's own by default; tests pass others).
 * @returns the versions before and after.
 * @throws SyncKitError `incompatible-database` when the schema version is newer than the steps
 * know, or tables named like the store's exist that it did not create, or their columns differ
 * (nothing is changed); `unavailable` when the database cannot be reached; `internal` otherwise
 * (e.g. a missing privilege, with the cause).
 */
export async function migratePostgresSchema(
  pool: PostgresPool,
  names: PostgresNames,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<PostgresMigrationResult> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration ${i} has version ${m.version}, expected ${i + 1}`)
    }
  })
  const { client, release } = await checkOut(pool, 'opening the store')
  let broken: Error | undefined
  try {
    await client.query(
      `BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(${LOCK_CLASS.migrate}, ${names.lockKey})`,
    )
    try {
      const result = await migrateLocked(client, names, migrations)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
      })
      throw error
    }
  } catch (error) {
    throw toSyncKitError(error, 'opening the store (migrating its schema)')
  } finally {
    release(broken ?? false)
  }
}

async function migrateLocked(
  client: PostgresPoolClient,
  n: PostgresNames,
  migrations: readonly PostgresMigration[],
): Promise<PostgresMigrationResult> {
  const supported = migrations.length
  const existing = await relationsOf(client, n)
  let from = 0
  if (existing.has(n.tables.schemaVersion)) {
    const row = (
      await client.query(`SELECT coalesce(max(version), 0)::int AS version FROM ${n.schemaVersion}`)
    ).rows[0] as { version: number } | undefined
    from = row?.version ?? 0
  } else {
    for (const table of [
      n.tables.events,
      n.tables.checkpoints,
      n.tables.meta,
      n.tables.state,
      n.tables.sequence,
    ]) {
      if (existing.has(table)) {
        throw incompatible(
          `the schema "${n.schema}" already has a relation "${table}" but no "${n.tables.schemaVersion}" table; sync-kit did not create it, so choose another schema or tablePrefix for the store`,
          0,
          supported,
          table,
        )
      }
    }
    const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [n.schema])
    if (schema.rows.length === 0) await client.query(`CREATE SCHEMA "${n.schema}"`)
    await client.query(
      `CREATE TABLE ${n.schemaVersion} (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    )
  }
  if (from > supported) {
    throw incompatible(
      `the database has schema version ${from} of "${n.schema}.${n.prefix}*" but this sync-kit knows versions up to ${supported}; it was written by a newer sync-kit, so upgrade sync-kit to open it`,
      from,
      supported,
    )
  }
  for (const migration of migrations) {
    if (migration.version <= from) continue
    await client.query(migration.sql(n))
    await client.query(`INSERT INTO ${n.schemaVersion} (version, description) VALUES ($1, $2)`, [
      migration.version,
      migration.description,
    ])
  }
  await assertSchema(client, n, supported, supported)
  return { from, to: supported }
}

async function relationsOf(client: PostgresPoolClient, n: PostgresNames): Promise<Set<string>> {
  const names = Object.values(n.tables)
  const result = await client.query(
    'SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = ANY($2::text[])',
    [n.schema, names],
  )
  return new Set((result.rows as { relname: string }[]).map((r) => r.relname))
}

async function assertSchema(
  client: PostgresPoolClient,
  n: PostgresNames,
  version: number,
  supported: number,
): Promise<void> {
  // Only the tables the schema has at `version` (a state table exists from version 2 on).
  const expected = Object.fromEntries(
    Object.entries(expectedColumns(n)).filter(
      ([table]) => table !== n.tables.state || version >= 2,
    ),
  )
  const result = await client.query(
    `SELECT c.relname AS table, a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS column
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = $1 AND c.relname = ANY($2::text[]) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
    [n.schema, Object.keys(expected)],
  )
  const actual = new Map<string, string[]>()
  for (const row of result.rows as { table: string; column: string }[]) {
    const columns = actual.get(row.table) ?? []
    columns.push(row.column)
    actual.set(row.table, columns)
  }
  for (const [table, columns] of Object.entries(expected)) {
    const found = (actual.get(table) ?? []).join(', ')
    if (found !== columns.join(', ')) {
      throw incompatible(
        `table "${n.schema}.${table}" has columns (${found === '' ? 'none: it is missing' : found}) but sync-kit expects (${columns.join(', ')}); it was changed or not created by sync-kit, so choose another schema or tablePrefix for the store`,
        version,
        supported,
        table,
      )
    }
  }
}

function incompatible(
  problem: string,
  userVersion: number,
  supportedVersion: number,
  table?: string,
): SyncKitError<'incompatible-database'> {
  return new SyncKitError(
    'incompatible-database',
    `${POSTGRES_PREFIX} ${problem}`,
    table === undefined
      ? { userVersion, supportedVersion }
      : { userVersion, supportedVersion, table },
  )
}
