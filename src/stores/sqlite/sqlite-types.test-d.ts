import type Database from 'better-sqlite3'
import { describe, expectTypeOf, it } from 'vitest'
import type { EventStore } from '../../types/index.js'
import type { SequenceVersion } from '../../versions/sequence-version.js'
import type {
  OpenSqliteStoreOptions,
  SqliteDatabase,
  SqliteStore,
  SqliteStoreOptions,
} from './index.js'
import type { createSqliteStore, openSqliteStore } from './index.js'

describe('sqlite store types', () => {
  it('accepts a better-sqlite3 Database as SqliteDatabase', () => {
    expectTypeOf<Database.Database>().toExtend<SqliteDatabase>()
    expectTypeOf<{ database: Database.Database }>().toExtend<SqliteStoreOptions>()
  })

  it('is an EventStore with a required storeBatch and sequence versions', () => {
    expectTypeOf<SqliteStore>().toExtend<EventStore>()
    expectTypeOf<SqliteStore['storeBatch']>().not.toBeUndefined()
    expectTypeOf<ReturnType<SqliteStore['parseVersion']>>().toEqualTypeOf<SequenceVersion>()
    expectTypeOf<ReturnType<typeof createSqliteStore>>().toEqualTypeOf<SqliteStore>()
    expectTypeOf<ReturnType<typeof openSqliteStore>>().toEqualTypeOf<Promise<SqliteStore>>()
  })

  it('takes either a path or a database, and only a database synchronously', () => {
    expectTypeOf<{ path: string }>().toExtend<OpenSqliteStoreOptions>()
    expectTypeOf<{ database: SqliteDatabase }>().toExtend<OpenSqliteStoreOptions>()
    // @ts-expect-error createSqliteStore cannot open a path synchronously; use openSqliteStore
    const options: SqliteStoreOptions = { path: 'x.db' }
    expectTypeOf(options).toExtend<SqliteStoreOptions>()
    // @ts-expect-error synchronous is 'full' or 'normal'
    const bad: SqliteStoreOptions = { database: {} as SqliteDatabase, synchronous: 'off' }
    expectTypeOf(bad).toExtend<SqliteStoreOptions>()
  })
})
