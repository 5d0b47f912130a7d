// The PostgreSQL store's parts that need no server: options, names, error mapping, load queries.
import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { createPostgresStore } from './index.js'
import { isUnavailable, toSyncKitError } from './postgres-errors.js'
import { resolveNames } from './postgres-names.js'
import { buildLoadQuery } from './postgres-queries.js'
import type { PostgresPool } from './postgres-types.js'

/** A pool that fails the test if the store uses it: options must be checked first. */
const untouchable: PostgresPool = {
  connect: () => Promise.reject(new Error('the pool must not be used')),
  query: () => Promise.reject(new Error('the pool must not be used')),
}

async function rejection(promise: Promise<unknown>): Promise<SyncKitError> {
  try {
    await promise
  } catch (error) {
    if (isSyncKitError(error)) return error
    throw error
  }
  throw new Error('expected a rejection')
}

describe('createPostgresStore options', () => {
  it.each([
    ['no options', undefined, 'options'],
    ['no pool', {}, 'pool'],
    ['a pool without connect', { pool: { query: () => undefined } }, 'pool'],
    ['an upper-case schema', { pool: untouchable, schema: 'Sync' }, 'schema'],
    ['a schema with a quote', { pool: untouchable, schema: 'a"b' }, 'schema'],
    ['a schema starting with a digit', { pool: untouchable, schema: '1s' }, 'schema'],
    ['a prefix with a dash', { pool: untouchable, tablePrefix: 'my-' }, 'tablePrefix'],
    [
      'a prefix of 33 characters',
      { pool: untouchable, tablePrefix: 'p'.repeat(33) },
      'tablePrefix',
    ],
    ['a clock without now', { pool: untouchable, clock: {} }, 'clock'],
  ])('refuses %s with invalid-argument before touching the pool', async (_, options, argument) => {
    const error = await rejection(createPostgresStore(options as never))
    expect(error.code).toBe('invalid-argument')
    expect(error.details).toEqual({ argument })
    expect(error.message).toMatch(/^\[sync-kit\] \[postgres\] /)
  })
})

describe('postgres names', () => {
  it('qualifies every object with the schema and prefix, quoted', () => {
    const names = resolveNames('sync', 'app_')
    expect(names.events).toBe('"sync"."app_events"')
    expect(names.sequence).toBe('"sync"."app_event_sequence"')
    expect(names.object('events_type_seq')).toBe('"app_events_type_seq"')
    const defaults = resolveNames(undefined, undefined)
    expect(defaults.checkpoints).toBe('"public"."sync_kit_checkpoints"')
  })

  it('gives each log its own append lock key, the same in every process', () => {
    const a = resolveNames('public', 'a_').lockKey
    expect(resolveNames('public', 'a_').lockKey).toBe(a)
    expect(resolveNames('public', 'b_').lockKey).not.toBe(a)
    expect(resolveNames('other', 'a_').lockKey).not.toBe(a)
    expect(Number.isInteger(a) && a >= -(2 ** 31) && a < 2 ** 31).toBe(true)
  })
})

describe('postgres error mapping', () => {
  const sqlError = (code: string, message = 'relation "secret_table" does not exist'): Error =>
    Object.assign(new Error(message), { code })

  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    [
      'a refused connection to several addresses',
      Object.assign(
        new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
        {},
      ),
    ],
    [
      'a terminated backend (57P01)',
      sqlError('57P01', 'terminating connection due to administrator command'),
    ],
    ['a connection failure (08006)', sqlError('08006')],
    ['too many connections (53300)', sqlError('53300')],
    ['a serialisation failure (40001)', sqlError('40001')],
    ['a deadlock (40P01)', sqlError('40P01')],
    ['a read-only standby (25006)', sqlError('25006')],
    ['a connection pg saw end', new Error('Connection terminated unexpectedly')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
  ])('%s is unavailable (transient) with the cause', (_, cause) => {
    expect(isUnavailable(cause)).toBe(true)
    const error = toSyncKitError(cause, 'load')
    expect(error.code).toBe('unavailable')
    expect(error.transient).toBe(true)
    expect(error.cause).toBe(cause)
    expect(error.message).toMatch(
      /^\[sync-kit\] \[postgres\] load failed: the database is unreachable/,
    )
  })

  it.each([
    ['53100', "the database server's disk is full"],
    ['57P03', 'starting up or shutting down'],
    ['25006', 'read-only'],
    ['58030', 'I/O error'],
    ['57014', 'statement_timeout'],
    ['08006', 'the connection to the database failed'],
    ['ECONNREFUSED', 'cannot be reached'],
  ])(
    'a storage failure a client cannot fix (%s) is unavailable and its message names the cause, not the server text',
    (code, cause) => {
      const error = toSyncKitError(sqlError(code), 'storeBatch')
      expect(error.code).toBe('unavailable')
      expect(error.message).toContain(cause)
      expect(error.message).toContain(`(${code})`)
      expect(error.message).not.toContain('secret_table')
    },
  )

  it('an other database error is internal, naming the SQLSTATE but not the server text', () => {
    const cause = sqlError('42P01')
    const error = toSyncKitError(cause, 'load')
    expect(error.code).toBe('internal')
    expect(error.message).toBe(
      '[sync-kit] [postgres] load failed with PostgreSQL error 42P01 (a table is missing); the cause has the details',
    )
    expect(error.cause).toBe(cause)
  })

  it('a pool ended under the store is closed; sync-kit errors pass through', () => {
    const ended = toSyncKitError(
      new Error('Cannot use a pool after calling end on the pool'),
      'load',
    )
    expect(ended.code).toBe('closed')
    const own = new SyncKitError('event-id-conflict', 'x', { eventId: 'e1' })
    expect(toSyncKitError(own, 'store')).toBe(own)
  })
})

describe('postgres load queries', () => {
  const names = resolveNames('public', 'sync_kit_')

  it('reads after since in seq order, with the limit as a parameter', () => {
    const query = buildLoadQuery(names, undefined, '5', undefined, 10)
    expect(query.text).toBe(
      'SELECT seq::text AS seq, id, type, aggregate_id, data::text AS data, metadata::text AS metadata ' +
        'FROM "public"."sync_kit_events" e WHERE seq > $1::bigint ORDER BY e.seq LIMIT $2::bigint',
    )
    expect(query.values).toEqual(['5', 10])
  })

  it('maps one value to = and several to = ANY, keys AND-ed, the aggregate first', () => {
    const query = buildLoadQuery(names, 'a1', '0', { type: ['A', 'B'], tenant: ['t1'] }, undefined)
    expect(query.text).toContain(
      'WHERE seq > $1::bigint AND aggregate_id = $2 AND type = ANY($3::text[]) AND tenant = $4 ORDER BY e.seq LIMIT $5::bigint',
    )
    expect(query.values).toEqual(['0', 'a1', ['A', 'B'], 't1', null])
  })
})
