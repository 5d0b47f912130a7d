// Migrations of the PostgreSQL store on a real server (SYNC_KIT_TEST_PG): several instances
// migrating one schema at once, a database of a newer sync-kit or with tables the store did not
// create refused and left unchanged, steps that run once or leave nothing behind, and
// tablePrefix. The hooks and helpers live in postgres.fixture.ts (usePostgresBehaviour).
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { POSTGRES_MIGRATIONS, migratePostgresSchema } from './postgres-migrations.js'
import { resolveNames } from './postgres-names.js'
import { createPostgresStore } from './postgres-store.js'
import { ev, ids, postgresUrl, rejection, usePostgresBehaviour } from './postgres.fixture.js'

const url = postgresUrl()

describe.skipIf(url === undefined)('postgres store', () => {
  const { db, admin, open, newPool, count } = usePostgresBehaviour('migrations')

  describe('migrations', () => {
    // Written against whatever the latest schema is, so a new step does not rewrite these tests.
    const LATEST = POSTGRES_MIGRATIONS.length

    it('creating a store twice on one schema migrates once and keeps the events', async () => {
      const schema = db.freshSchema()
      const first = await open(newPool(), schema)
      await first.store(ev('e1'))
      await first.close()
      const second = await open(newPool(), schema)
      expect(ids(await second.load(null))).toEqual(['e1'])
      expect(await count(`"${schema}".sync_kit_schema_version`)).toBe(LATEST)
    })

    it('several instances starting at once on an empty database migrate once and agree on one epoch', async () => {
      const schema = db.freshSchema()
      const epochs = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const store = await open(newPool({ max: 1 }), schema)
          return store.loadOrCreateEpoch(`candidate-${i}`)
        }),
      )
      expect(new Set(epochs).size).toBe(1)
      expect(epochs[0]).toMatch(/^candidate-\d$/)
      expect(await count(`"${schema}".sync_kit_schema_version`)).toBe(LATEST)
      // The epoch lives in the meta table, not in a checkpoint.
      expect(await count(`"${schema}".sync_kit_meta`)).toBe(1)
      expect(await count(`"${schema}".sync_kit_checkpoints`)).toBe(0)
    })

    it('a database written by a newer schema is refused with incompatible-database and left unchanged', async () => {
      const schema = db.freshSchema()
      await (await open(newPool(), schema)).close()
      await admin.query(
        `INSERT INTO "${schema}".sync_kit_schema_version (version, description) VALUES (${LATEST + 1}, 'from a newer sync-kit')`,
      )
      const error = await rejection(createPostgresStore({ pool: newPool(), schema }))
      expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
      expect((error as { details: unknown }).details).toEqual({
        userVersion: LATEST + 1,
        supportedVersion: LATEST,
      })
      expect((error as Error).message).toMatch(/newer sync-kit/)
      expect(await count(`"${schema}".sync_kit_schema_version`)).toBe(LATEST + 1)
    })

    it('tables with the store names that it did not create are refused, and nothing is created', async () => {
      const schema = db.freshSchema()
      await admin.query(
        `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".sync_kit_events (x int)`,
      )
      const error = await rejection(createPostgresStore({ pool: newPool(), schema }))
      expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
      expect((error as { details: { table?: string } }).details.table).toBe('sync_kit_events')
      expect(await count(`pg_tables WHERE schemaname = '${schema}'`)).toBe(1)
    })

    it('a table whose columns were changed is refused with incompatible-database', async () => {
      const schema = db.freshSchema()
      await (await open(newPool(), schema)).close()
      await admin.query(`ALTER TABLE "${schema}".sync_kit_events DROP COLUMN tenant`)
      const error = await rejection(createPostgresStore({ pool: newPool(), schema }))
      expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
      expect((error as Error).message).toMatch(/sync_kit_events" has columns/)
    })

    it('a database of schema version 1 moves to version 2 (the state table) and keeps its events and epoch', async () => {
      // Given a database a sync-kit of schema version 1 wrote
      const schema = db.freshSchema()
      const pool = newPool()
      const names = resolveNames(schema, undefined)
      expect(await migratePostgresSchema(pool, names, POSTGRES_MIGRATIONS.slice(0, 1))).toEqual({
        from: 0,
        to: 1,
      })
      await admin.query(
        `INSERT INTO "${schema}".sync_kit_meta (key, value) VALUES ('epoch', 'old-epoch')`,
      )
      // When this sync-kit opens it
      const store = await open(pool, schema)
      // Then it migrated, the epoch is kept, and state works
      expect(await count(`"${schema}".sync_kit_schema_version`)).toBe(LATEST)
      expect(await store.loadOrCreateEpoch('new-epoch')).toBe('old-epoch')
      await store.setState('sync-kit:k', { v: 1 })
      expect(await store.getState('sync-kit:k')).toEqual({ v: 1 })
    })

    it('a later step runs once and is recorded; a failing step leaves nothing behind', async () => {
      const schema = db.freshSchema()
      const names = resolveNames(schema, undefined)
      const pool = newPool()
      const step2 = {
        version: LATEST + 1,
        description: 'a test step',
        sql: () => `CREATE TABLE "${schema}".extra (n int)`,
      }
      expect(await migratePostgresSchema(pool, names)).toEqual({ from: 0, to: LATEST })
      expect(await migratePostgresSchema(pool, names, [...POSTGRES_MIGRATIONS, step2])).toEqual({
        from: LATEST,
        to: LATEST + 1,
      })
      expect(await migratePostgresSchema(pool, names, [...POSTGRES_MIGRATIONS, step2])).toEqual({
        from: LATEST + 1,
        to: LATEST + 1,
      })
      const broken = {
        version: LATEST + 2,
        description: 'fails halfway',
        sql: () => `CREATE TABLE "${schema}".half (n int); SELECT no_such_function()`,
      }
      const error = await rejection(
        migratePostgresSchema(pool, names, [...POSTGRES_MIGRATIONS, step2, broken]),
      )
      expect(isSyncKitError(error, 'internal')).toBe(true)
      expect(await count(`pg_tables WHERE schemaname = '${schema}' AND tablename = 'half'`)).toBe(0)
      expect(await count(`"${schema}".sync_kit_schema_version`)).toBe(LATEST + 1)
    })

    it('tablePrefix gives each log its own tables in one schema; an empty prefix gives bare names', async () => {
      const schema = db.freshSchema()
      const a = await open(newPool(), schema, { tablePrefix: 'a_' })
      const bare = await open(newPool(), schema, { tablePrefix: '' })
      await a.store(ev('in-a'))
      await bare.store(ev('in-bare'))
      expect(ids(await a.load(null))).toEqual(['in-a'])
      expect(ids(await bare.load(null))).toEqual(['in-bare'])
      expect(await count(`"${schema}".events`)).toBe(1)
      expect(await count(`"${schema}".a_events`)).toBe(1)
    })
  })
})
