import type pg from 'pg'
import { describe, expectTypeOf, it } from 'vitest'
import type { EventStore } from '../../types/index.js'
import type {
  PostgresPool,
  PostgresPoolClient,
  PostgresStore,
  PostgresStoreOptions,
} from './index.js'

describe('postgres store types', () => {
  it('takes a pg Pool and its clients as they are', () => {
    expectTypeOf<pg.Pool>().toExtend<PostgresPool>()
    expectTypeOf<pg.PoolClient>().toExtend<PostgresPoolClient>()
    expectTypeOf<{ pool: pg.Pool; schema: string }>().toExtend<PostgresStoreOptions>()
  })

  it('is an EventStore with the epoch capability and watch', () => {
    expectTypeOf<PostgresStore>().toExtend<EventStore>()
    expectTypeOf<PostgresStore['loadOrCreateEpoch']>().toBeFunction()
    expectTypeOf<PostgresStore['watch']>().returns.toEqualTypeOf<() => Promise<void>>()
  })

  it('refuses what is not a pool', () => {
    // @ts-expect-error a connection string is not a pool
    const options: PostgresStoreOptions = { pool: 'postgres://localhost/db' }
    expectTypeOf(options).not.toBeNever()
  })
})
