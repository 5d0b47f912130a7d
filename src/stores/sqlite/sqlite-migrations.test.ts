import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import {
  SQLITE_MIGRATIONS,
  SQLITE_SCHEMA_VERSION,
  migrateSqliteSchema,
  readUserVersion,
} from './sqlite-migrations.js'
import type { SqliteMigration } from './sqlite-migrations.js'
import { createSqliteStore } from './sqlite-store.js'

function tables(db: Database.Database): string[] {
  return (
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as {
      name: string
    }[]
  ).map((r) => r.name)
}

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

describe('migrateSqliteSchema', () => {
  let db: Database.Database
  beforeEach(() => {
    db = new Database(':memory:')
  })
  afterEach(() => {
    db.close()
  })

  it('Given an empty database, When migrated, Then it has the latest schema and user_version', () => {
    const result = migrateSqliteSchema(db)

    expect(result).toEqual({ from: 0, to: SQLITE_SCHEMA_VERSION })
    expect(readUserVersion(db)).toBe(SQLITE_SCHEMA_VERSION)
    expect(tables(db)).toEqual(expect.arrayContaining(['checkpoints', 'events']))
  })

  it('Given a migrated database, When migrated again, Then nothing changes', () => {
    migrateSqliteSchema(db)
    db.prepare(
      "INSERT INTO events (id, type, aggregate_id, data, created_at) VALUES ('e1', 'T', 'a', '1', 0)",
    ).run()

    const result = migrateSqliteSchema(db)

    expect(result).toEqual({ from: SQLITE_SCHEMA_VERSION, to: SQLITE_SCHEMA_VERSION })
    expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 })
  })

  it('Given a database with other (unrelated) tables, When migrated, Then they are kept', () => {
    db.exec('CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT)')
    db.exec("INSERT INTO todos VALUES ('t1', 'milk')")

    migrateSqliteSchema(db)

    expect(tables(db)).toEqual(expect.arrayContaining(['todos', 'events', 'checkpoints']))
    expect(db.prepare('SELECT title FROM todos').get()).toEqual({ title: 'milk' })
  })

  it('Given a newer user_version, When migrated, Then it rejects with incompatible-database and changes nothing', () => {
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`)

    const error = catchError(() => migrateSqliteSchema(db))

    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect((error as Error).message).toMatch(/^\[sync-kit\] \[sqlite\] .*newer sync-kit/)
    expect((error as { details: unknown }).details).toEqual({
      userVersion: SQLITE_SCHEMA_VERSION + 1,
      supportedVersion: SQLITE_SCHEMA_VERSION,
    })
    expect(tables(db)).toEqual([])
    expect(readUserVersion(db)).toBe(SQLITE_SCHEMA_VERSION + 1)
  })

  it('Given a foreign "events" table with other columns, When migrated, Then it rejects and creates nothing', () => {
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, at TEXT)')

    const error = catchError(() => migrateSqliteSchema(db))

    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect((error as { details: { table?: string } }).details.table).toBe('events')
    expect((error as Error).message).toContain('not a sync-kit database')
    expect(tables(db)).toEqual(['events'])
    expect(readUserVersion(db)).toBe(0)
  })

  it('Given a "checkpoints" view that sync-kit did not create, When migrated, Then it rejects', () => {
    db.exec('CREATE VIEW checkpoints AS SELECT 1 AS x')

    const error = catchError(() => migrateSqliteSchema(db))

    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect((error as { details: { table?: string } }).details.table).toBe('checkpoints')
    expect(tables(db)).toEqual([])
  })

  it('Given user_version set by another tool and no sync-kit tables, When migrated, Then it rejects', () => {
    db.pragma('user_version = 1')
    db.exec('CREATE TABLE app (x)')

    const error = catchError(() => migrateSqliteSchema(db))

    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect((error as Error).message).toContain('no "events" table')
    expect(tables(db)).toEqual(['app'])
  })

  it('Given sync-kit tables whose columns were changed, When migrated, Then it names the table and both column lists', () => {
    migrateSqliteSchema(db)
    db.exec('ALTER TABLE checkpoints ADD COLUMN extra TEXT')

    const error = catchError(() => migrateSqliteSchema(db))

    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect((error as { details: { table?: string } }).details.table).toBe('checkpoints')
    expect((error as Error).message).toContain('extra TEXT')
  })

  it('Given several steps, When migrated, Then they run in order, each bumping user_version in its transaction', () => {
    const seen: [number, number, boolean][] = []
    const n = SQLITE_SCHEMA_VERSION
    const steps: SqliteMigration[] = [
      ...SQLITE_MIGRATIONS,
      ...[n + 1, n + 2].map((version) => ({
        version,
        description: `test step ${version}`,
        up(d: Parameters<SqliteMigration['up']>[0]) {
          seen.push([version, readUserVersion(d), d.inTransaction])
          d.exec(`CREATE TABLE step_${version} (x)`)
        },
      })),
    ]

    const result = migrateSqliteSchema(db, steps)

    expect(seen).toEqual([
      [n + 1, n, true],
      [n + 2, n + 1, true],
    ])
    expect(result).toEqual({ from: 0, to: n + 2 })
  })

  it('Given a step that fails halfway, When migrated, Then that step is rolled back and earlier steps stay', () => {
    const steps: SqliteMigration[] = [
      ...SQLITE_MIGRATIONS,
      {
        version: SQLITE_SCHEMA_VERSION + 1,
        description: 'fails after creating a table',
        up(d) {
          d.exec('CREATE TABLE half_done (x)')
          throw new Error('step 2 broke')
        },
      },
    ]

    expect(() => migrateSqliteSchema(db, steps)).toThrow('step 2 broke')

    expect(readUserVersion(db)).toBe(SQLITE_SCHEMA_VERSION)
    expect(tables(db)).not.toContain('half_done')
    expect(tables(db)).toEqual(expect.arrayContaining(['events', 'checkpoints']))
    expect(db.inTransaction).toBe(false)
  })

  it('Given steps with a gap in their versions, When migrated, Then it refuses before touching the database', () => {
    const steps: SqliteMigration[] = [
      { version: 2, description: 'out of order', up: (d) => d.exec('CREATE TABLE never (x)') },
    ]

    expect(() => migrateSqliteSchema(db, steps)).toThrow(/version 2, expected 1/)
    expect(tables(db)).toEqual([])
  })
})

describe('schema version 2: the epoch moves to sync_kit_meta', () => {
  let db: Database.Database
  beforeEach(() => {
    db = new Database(':memory:')
  })
  afterEach(() => {
    db.close()
  })

  it('Given a version-1 database with a server epoch checkpoint, When migrated, Then the epoch is in sync_kit_meta and the checkpoint is gone, other checkpoints kept', async () => {
    migrateSqliteSchema(db, SQLITE_MIGRATIONS.slice(0, 1))
    db.exec(`INSERT INTO checkpoints VALUES ('sync-kit:server', 'pull', '0', 'epoch-1');
      INSERT INTO checkpoints VALUES ('hub', 'pull', '7', 'remote-epoch')`)

    expect(migrateSqliteSchema(db)).toEqual({ from: 1, to: SQLITE_SCHEMA_VERSION })

    expect(db.prepare('SELECT key, value FROM sync_kit_meta').all()).toEqual([
      { key: 'epoch', value: 'epoch-1' },
    ])
    expect(db.prepare('SELECT remote FROM checkpoints').all()).toEqual([{ remote: 'hub' }])
    // And a store on it answers with the kept epoch, whatever candidate it is given.
    expect(await createSqliteStore({ database: db }).loadOrCreateEpoch('fresh')).toBe('epoch-1')
  })

  it('Given a version-1 database without an epoch, When migrated, Then sync_kit_meta is empty and the first candidate is kept', async () => {
    migrateSqliteSchema(db, SQLITE_MIGRATIONS.slice(0, 1))

    migrateSqliteSchema(db)

    expect(db.prepare('SELECT count(*) AS n FROM sync_kit_meta').get()).toEqual({ n: 0 })
    const store = createSqliteStore({ database: db })
    expect(await store.loadOrCreateEpoch('first')).toBe('first')
    expect(await store.loadOrCreateEpoch('second')).toBe('first')
  })

  it('Given a version-1 database, When checked before migrating, Then sync_kit_meta is not required yet', () => {
    migrateSqliteSchema(db, SQLITE_MIGRATIONS.slice(0, 1))
    expect(readUserVersion(db)).toBe(1)
    expect(() => migrateSqliteSchema(db)).not.toThrow()
    expect(tables(db)).toEqual(expect.arrayContaining(['sync_kit_meta']))
  })
})

describe('migrations across connections', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sync-kit-migrate-'))
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('Given two connections to a new file, When both open a store, Then the schema is created once and both work', async () => {
    const path = join(dir, 'shared.db')
    const a = new Database(path)
    const b = new Database(path)
    try {
      const storeA = createSqliteStore({ database: a })
      const storeB = createSqliteStore({ database: b })

      await storeA.store({ id: 'e1', type: 'T', aggregateId: 'x', data: 1 })
      const seenByB = await storeB.load(null)

      expect(seenByB.map((e) => e.event.id)).toEqual(['e1'])
      expect(readUserVersion(b)).toBe(SQLITE_SCHEMA_VERSION)
    } finally {
      a.close()
      b.close()
    }
  })

  it('Given two stores on one new file, When both ask for the epoch with their own candidates, Then both get the first one', async () => {
    const path = join(dir, 'epoch.db')
    const a = new Database(path)
    const b = new Database(path)
    try {
      const [storeA, storeB] = [
        createSqliteStore({ database: a }),
        createSqliteStore({ database: b }),
      ]
      const epochs = await Promise.all([
        storeA.loadOrCreateEpoch('epoch-a'),
        storeB.loadOrCreateEpoch('epoch-b'),
      ])
      expect(epochs).toEqual(['epoch-a', 'epoch-a'])
      expect(await storeB.loadOrCreateEpoch('epoch-c')).toBe('epoch-a')
    } finally {
      a.close()
      b.close()
    }
  })

  it('Given a file SQLite opens read-only, When the epoch is asked for, Then it rejects unavailable saying it cannot write', async () => {
    // A database without an epoch yet: creating one needs a write, which the file refuses.
    const path = join(dir, 'read-only.db')
    const setup = new Database(path)
    createSqliteStore({ database: setup })
    setup.close()
    const readOnly = new Database(path, { readonly: true })
    try {
      const store = createSqliteStore({ database: readOnly, configureConnection: false })
      const error = await store.loadOrCreateEpoch('other').catch((e: unknown) => e)
      expect(isSyncKitError(error, 'unavailable')).toBe(true)
      expect((error as Error).message).toContain('cannot write')
    } finally {
      readOnly.close()
    }
  })

  it('Given a file SQLite opens read-only that has an epoch, When the epoch is asked for, Then it is read without a write', async () => {
    const path = join(dir, 'read-only-with-epoch.db')
    const setup = new Database(path)
    await createSqliteStore({ database: setup }).loadOrCreateEpoch('kept')
    setup.close()
    const readOnly = new Database(path, { readonly: true })
    try {
      const store = createSqliteStore({ database: readOnly, configureConnection: false })
      expect(await store.loadOrCreateEpoch('other')).toBe('kept')
    } finally {
      readOnly.close()
    }
  })

  it('Given a file written by a newer schema, When a store opens it, Then it rejects with incompatible-database', () => {
    const path = join(dir, 'newer.db')
    const db = new Database(path)
    try {
      db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 5}`)

      const error = catchError(() => createSqliteStore({ database: db }))

      expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    } finally {
      db.close()
    }
  })
})
