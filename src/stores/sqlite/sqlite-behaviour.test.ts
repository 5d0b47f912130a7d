import Database from 'better-sqlite3'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { compileFilters, groupFilters } from '../../core/filters.js'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import { TestClock } from '../../testing/test-clock.js'
import type { Event, Filter } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { buildLoadQuery } from './sqlite-queries.js'
import { createSqliteStore, openSqliteStore } from './index.js'
import type { SqliteStore } from './index.js'

const CHECKPOINT_KEY = { remote: 'https://example.test', direction: 'pull' } as const

function event(id: string, overrides: Partial<Event> = {}): Event {
  return { id, type: 'Created', aggregateId: 'a1', data: { n: id }, ...overrides }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the call to reject')
}

async function expectCode(promise: Promise<unknown>, code: SyncKitErrorCode): Promise<Error> {
  const error = await rejection(promise)
  if (!isSyncKitError(error, code)) {
    throw new Error(`expected code ${code}, got ${String(error)}`, { cause: error })
  }
  expect(error.message).toMatch(/^\[sync-kit\] \[sqlite\] /)
  return error
}

async function ids(store: SqliteStore, filters?: readonly Filter[]): Promise<string[]> {
  const page = await store.load(null, filters === undefined ? {} : { filters })
  return page.map((e) => e.event.id)
}

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sync-kit-sqlite-'))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})
let fileCounter = 0
function tempPath(): string {
  fileCounter++
  return join(dir, `store-${fileCounter}.db`)
}

describe('sqlite store: batches', () => {
  let store: SqliteStore
  beforeEach(async () => {
    store = await openSqliteStore({ path: ':memory:' })
  })
  afterEach(async () => {
    await store.close()
  })

  it('Given a stored event, When a batch has new events and a conflicting one, Then nothing of the batch is stored', async () => {
    await store.store(event('e0'))
    await store.setCheckpoint(CHECKPOINT_KEY, { version: '1' })

    const error = await expectCode(
      store.storeBatch([event('e1'), event('e0', { data: { changed: true } }), event('e2')], {
        checkpoint: { key: CHECKPOINT_KEY, value: { version: '99' } },
      }),
      'event-id-conflict',
    )

    expect((error as unknown as { details: unknown }).details).toEqual({ eventId: 'e0' })
    expect(await ids(store)).toEqual(['e0'])
    expect((await store.latestVersion()).toString()).toBe('1')
    expect(await store.getCheckpoint(CHECKPOINT_KEY)).toEqual({ version: '1' })
  })

  it('Given an invalid event in the middle of a batch, When stored, Then it rejects with invalid-event and stores nothing', async () => {
    const bad = { id: 'e2', type: 'Created', aggregateId: 'a1', data: { n: Number.NaN } }

    const error = await expectCode(
      store.storeBatch([event('e1'), bad as Event, event('e3')]),
      'invalid-event',
    )

    expect((error as unknown as { details: unknown }).details).toEqual({
      eventId: 'e2',
      field: 'data.n',
    })
    expect(await ids(store)).toEqual([])
  })

  it('Given a batch with a checkpoint, When stored, Then the checkpoint advances with the events', async () => {
    const results = await store.storeBatch([event('e1'), event('e2')], {
      checkpoint: { key: CHECKPOINT_KEY, value: { version: '17', epoch: 'ep-1' } },
    })

    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['1', false],
      ['2', false],
    ])
    expect(await store.getCheckpoint(CHECKPOINT_KEY)).toEqual({ version: '17', epoch: 'ep-1' })
    expect(await store.getCheckpoint({ ...CHECKPOINT_KEY, direction: 'push' })).toBeUndefined()
  })

  it('Given an empty batch with a checkpoint, When stored, Then only the checkpoint is written', async () => {
    const results = await store.storeBatch([], {
      checkpoint: { key: CHECKPOINT_KEY, value: { version: '3' } },
    })

    expect(results).toEqual([])
    expect(await store.getCheckpoint(CHECKPOINT_KEY)).toEqual({ version: '3' })
  })

  it('Given a checkpoint with an epoch, When overwritten without one, Then the epoch is gone', async () => {
    await store.setCheckpoint(CHECKPOINT_KEY, { version: '1', epoch: 'old' })

    await store.setCheckpoint(CHECKPOINT_KEY, { version: '2' })

    expect(await store.getCheckpoint(CHECKPOINT_KEY)).toEqual({ version: '2' })
  })

  it('Given bad checkpoint arguments, When written, Then they reject with invalid-argument naming the field', async () => {
    const cases: [unknown, unknown, string][] = [
      [{ remote: '', direction: 'pull' }, { version: '1' }, 'key.remote'],
      [{ remote: 'r', direction: 'sideways' }, { version: '1' }, 'key.direction'],
      [CHECKPOINT_KEY, { version: 1 }, 'value.version'],
      [CHECKPOINT_KEY, { version: '1', epoch: 5 }, 'value.epoch'],
      [null, { version: '1' }, 'key'],
      [CHECKPOINT_KEY, { version: '' }, 'value.version'],
    ]
    for (const [key, value, argument] of cases) {
      const error = await expectCode(
        store.setCheckpoint(key as typeof CHECKPOINT_KEY, value as { version: string }),
        'invalid-argument',
      )
      expect((error as unknown as { details: unknown }).details).toEqual({ argument })
    }
    await expectCode(
      store.storeBatch([event('e1')], {
        checkpoint: { key: CHECKPOINT_KEY, value: { version: 7 as unknown as string } },
      }),
      'invalid-argument',
    )
    expect(await ids(store)).toEqual([])
  })

  it('Given the same id twice in one batch, When stored, Then the second is a duplicate at the same version', async () => {
    const results = await store.storeBatch([event('e1'), event('e1')])

    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['1', false],
      ['1', true],
    ])
  })

  it('Given stored metadata {}, When the same event comes without metadata and keys in another order, Then it is a duplicate', async () => {
    await store.store(event('e1', { data: { a: 1, b: [1, { c: 2, d: 3 }] }, metadata: {} }))

    const again = await store.store({
      data: { b: [1, { d: 3, c: 2 }], a: 1 },
      aggregateId: 'a1',
      type: 'Created',
      id: 'e1',
    })

    expect(again).toMatchObject({ duplicate: true })
    expect(again.version.toString()).toBe('1')
  })

  it('Given a rejected trigger inside a batch, When stored, Then it rejects with internal (cause kept) and rolls back', async () => {
    store.database.exec(
      "CREATE TRIGGER no_e2 BEFORE INSERT ON events WHEN NEW.id = 'e2' BEGIN SELECT RAISE(ABORT, 'e2 is not welcome'); END",
    )

    const error = await expectCode(store.storeBatch([event('e1'), event('e2')]), 'internal')

    expect(error.message).toContain('e2 is not welcome')
    expect((error.cause as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/)
    expect(await ids(store)).toEqual([])
  })
})

describe('sqlite store: stored data', () => {
  let store: SqliteStore
  let clock: TestClock
  beforeEach(async () => {
    clock = new TestClock(1_700_000_000_123)
    store = await openSqliteStore({ path: ':memory:', clock })
  })
  afterEach(async () => {
    await store.close()
  })

  it('Given events, When stored, Then the row has the tenant, JSON text and the clock time', async () => {
    await store.storeBatch([
      event('e1', { metadata: { tenant: 't1', origin: 'r1' } }),
      event('e2', { data: '12' }),
    ])

    const rows = store.database
      .prepare('SELECT id, tenant, data, metadata, created_at FROM events ORDER BY seq')
      .all()
    expect(rows).toEqual([
      {
        id: 'e1',
        tenant: 't1',
        data: '{"n":"e1"}',
        metadata: '{"tenant":"t1","origin":"r1"}',
        created_at: 1_700_000_000_123,
      },
      { id: 'e2', tenant: null, data: '"12"', metadata: null, created_at: 1_700_000_000_123 },
    ])
  })

  it('Given JSON of every kind, When stored and loaded, Then it comes back equal', async () => {
    const data = {
      text: 'héllo 👋 \u0000 "quoted"',
      numbers: [0, -1, 1.5, 1e300, Number.MAX_SAFE_INTEGER],
      nested: { deep: [[[]], {}], nothing: null, yes: true },
      ['__proto__']: { sneaky: 1 },
      numeric: '12',
    }
    const parsed = JSON.parse(JSON.stringify(data)) as unknown
    await store.store(event('e1', { data: parsed, metadata: { tenant: 't', hlc: 'x' } }))

    const [loaded] = await store.load(null)

    expect(loaded?.event).toEqual({
      id: 'e1',
      type: 'Created',
      aggregateId: 'a1',
      data: parsed,
      metadata: { tenant: 't', hlc: 'x' },
    })
    expect(Object.getPrototypeOf((loaded?.event.data as object) ?? null)).toBe(Object.prototype)
  })

  it('Given a loaded event, When the caller changes it, Then later loads are unaffected', async () => {
    await store.store(event('e1', { data: { list: [1] }, metadata: { tenant: 't' } }))

    const first = await store.load(null)
    const loaded = first[0]?.event as { data: { list: number[] }; metadata: { tenant: string } }
    loaded.data.list.push(2)
    loaded.metadata.tenant = 'changed'
    const second = await store.load(null)

    expect(second[0]?.event).toEqual(
      event('e1', { data: { list: [1] }, metadata: { tenant: 't' } }),
    )
    expect(second[0]?.event).not.toBe(first[0]?.event)
  })

  it('Given the sequence past 2^53, When events are stored, Then versions are exact bigints', async () => {
    await store.store(event('e1'))
    store.database.exec("UPDATE sqlite_sequence SET seq = 9007199254740993 WHERE name = 'events'")

    const result = await store.store(event('e2'))

    expect(result.version).toBeInstanceOf(SequenceVersion)
    expect(result.version.toString()).toBe('9007199254740994')
    expect((await store.latestVersion()).value).toBe(9007199254740994n)
    const after = await store.load(store.parseVersion('9007199254740993'))
    expect(after.map((e) => [e.event.id, e.version.toString()])).toEqual([
      ['e2', '9007199254740994'],
    ])
    expect(await store.load(result.version)).toEqual([])
    const byAggregate = await store.loadByAggregate('a1', new SequenceVersion(1n))
    expect(byAggregate.map((e) => e.version.toString())).toEqual(['9007199254740994'])
  })

  it('Given a cursor past the largest 64-bit seq (e.g. a garbage Last-Event-ID), When loading, Then nothing comes after it instead of an internal error', async () => {
    // Regression: the bigint was bound as is, and SQLite's binding threw a RangeError (→ 500).
    await store.store(event('e1'))
    for (const cursor of ['9223372036854775807', '9223372036854775808', '9'.repeat(40)]) {
      const since = store.parseVersion(cursor)

      expect(await store.load(since)).toEqual([])
      expect(
        await store.load(since, { limit: 5, filters: [{ key: 'type', value: 'Created' }] }),
      ).toEqual([])
      expect(await store.loadByAggregate('a1', since)).toEqual([])
    }
  })

  it('Given a non-finite clock, When storing, Then it rejects with invalid-argument and stores nothing', async () => {
    const broken = await openSqliteStore({ path: ':memory:', clock: { now: () => Number.NaN } })
    try {
      await expectCode(broken.store(event('e1')), 'invalid-argument')
      expect(await broken.load(null)).toEqual([])
    } finally {
      await broken.close()
    }
  })
})

describe('sqlite store: filters in SQL', () => {
  let store: SqliteStore
  beforeAll(async () => {
    store = await openSqliteStore({ path: ':memory:' })
    await store.storeBatch([
      event('e1', { type: 'A', aggregateId: 'x', metadata: { tenant: 't1' } }),
      event('e2', { type: 'B', aggregateId: 'x', metadata: { tenant: 't2' } }),
      event('e3', { type: 'C', aggregateId: 'y', metadata: { tenant: 't1' } }),
      event('e4', { type: 'A', aggregateId: 'y' }),
      event('e5', { type: 'B', aggregateId: 'z', metadata: { tenant: 't1' } }),
    ])
  })
  afterAll(async () => {
    await store.close()
  })

  it('Given filters with the same key, When loading, Then they are OR-ed', async () => {
    expect(
      await ids(store, [
        { key: 'type', value: 'A' },
        { key: 'type', value: 'C' },
      ]),
    ).toEqual(['e1', 'e3', 'e4'])
  })

  it('Given filters with different keys, When loading, Then they are AND-ed', async () => {
    expect(
      await ids(store, [
        { key: 'type', value: 'A' },
        { key: 'type', value: 'B' },
        { key: 'tenant', value: 't1' },
      ]),
    ).toEqual(['e1', 'e5'])
    expect(
      await ids(store, [
        { key: 'aggregate_id', value: 'y' },
        { key: 'tenant', value: 't1' },
      ]),
    ).toEqual(['e3'])
  })

  it('Given a repeated filter value, When loading, Then it matches once', async () => {
    expect(
      await ids(store, [
        { key: 'tenant', value: 't2' },
        { key: 'tenant', value: 't2' },
      ]),
    ).toEqual(['e2'])
  })

  it('Given loadByAggregate with filters and a limit, When loading, Then all apply', async () => {
    const page = await store.loadByAggregate('x', null, {
      filters: [{ key: 'tenant', value: 't2' }],
      limit: 5,
    })
    expect(page.map((e) => e.event.id)).toEqual(['e2'])
    const first = await store.loadByAggregate('y', null, { limit: 1 })
    expect(first.map((e) => e.event.id)).toEqual(['e3'])
  })

  it('Given an unknown filter key, When loading, Then it rejects with unsupported-filter', async () => {
    const error = await expectCode(
      store.load(null, { filters: [{ key: 'colour', value: 'red' }] }),
      'unsupported-filter',
    )
    expect((error as unknown as { details: unknown }).details).toEqual({ key: 'colour' })
  })

  it('Given more filter shapes than the statement cache holds, When loading each twice, Then results stay right', async () => {
    for (let round = 0; round < 2; round++) {
      for (let n = 1; n <= 80; n++) {
        const filters = Array.from({ length: n }, (_, i) => ({ key: 'type', value: `T${i}` }))
        filters.push({ key: 'type', value: 'C' })
        expect(await ids(store, filters)).toEqual(['e3'])
      }
    }
  })

  it.each([
    ['load', undefined, [], /USING INTEGER PRIMARY KEY \(rowid>\?\)/],
    ['type', undefined, ['type'], /USING INDEX events_type_seq \(type=\? AND seq>\?\)/],
    ['tenant', undefined, ['tenant'], /USING INDEX events_tenant_seq \(tenant=\? AND seq>\?\)/],
    [
      'aggregate_id',
      undefined,
      ['aggregate_id'],
      /USING INDEX events_aggregate_id_seq \(aggregate_id=\? AND seq>\?\)/,
    ],
    [
      'loadByAggregate + type',
      'x',
      ['type'],
      /USING INDEX events_aggregate_id_seq \(aggregate_id=\? AND seq>\?\)/,
    ],
  ] as const)(
    'Given a %s query, When planned, Then SQLite searches an index (no full scan)',
    (_name, aggregateId, keys, expected) => {
      const groups = groupFilters(
        keys.map((key) => ({ key, value: 'v' })),
        'test',
      )
      const query = buildLoadQuery(aggregateId, 10n, groups, 100)

      const plan = (
        store.database.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as {
          detail: string
        }[]
      ).map((row) => row.detail)

      expect(plan[0]).toMatch(/^SEARCH events /)
      expect(plan[0]).toMatch(expected)
      expect(plan).not.toContainEqual(expect.stringMatching(/^SCAN/))
      expect(plan).not.toContainEqual(expect.stringContaining('TEMP B-TREE'))
    },
  )
})

describe('sqlite store: lifecycle', () => {
  it('Given a store on my database, When the store closes, Then my database stays open', async () => {
    const database = new Database(':memory:')
    const store = createSqliteStore({ database })

    await store.close()
    await store.close()

    expect(database.open).toBe(true)
    expect(database.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 })
    database.close()
  })

  it('Given a store opened by path, When it closes, Then its database is closed', async () => {
    const store = await openSqliteStore({ path: tempPath() })

    await store.close()

    expect(store.database.open).toBe(false)
  })

  it('Given openSqliteStore with a database, When it closes, Then the database stays open', async () => {
    const database = new Database(':memory:')
    const store = await openSqliteStore({ database })

    await store.close()

    expect(database.open).toBe(true)
    database.close()
  })

  it('Given a closed store, When any method is called, Then it rejects with closed', async () => {
    const store = await openSqliteStore({ path: ':memory:' })
    await store.close()

    const key = CHECKPOINT_KEY
    const calls: Promise<unknown>[] = [
      store.store(event('e1')),
      store.storeBatch([event('e1')]),
      store.load(null),
      store.loadByAggregate('a1', null),
      store.latestVersion(),
      store.getCheckpoint(key),
      store.setCheckpoint(key, { version: '1' }),
    ]
    for (const call of calls) await expectCode(call, 'closed')
  })

  it('Given my database closed under the store, When the store is used, Then it rejects with closed', async () => {
    const database = new Database(':memory:')
    const store = createSqliteStore({ database })
    database.close()

    await expectCode(store.load(null), 'closed')
    await expectCode(store.store(event('e1')), 'closed')
    await store.close()
  })

  it('Given an aborted signal, When storing or reading, Then it rejects with aborted and changes nothing', async () => {
    const store = await openSqliteStore({ path: ':memory:' })
    const controller = new AbortController()
    controller.abort(new Error('user left'))
    const signal = controller.signal

    const error = await expectCode(store.storeBatch([event('e1')], { signal }), 'aborted')
    await expectCode(
      store.storeBatch([], {
        signal,
        checkpoint: { key: CHECKPOINT_KEY, value: { version: '1' } },
      }),
      'aborted',
    )
    await expectCode(store.setCheckpoint(CHECKPOINT_KEY, { version: '1' }, { signal }), 'aborted')
    await expectCode(store.load(null, { signal }), 'aborted')
    await expectCode(store.latestVersion({ signal }), 'aborted')

    expect(error.cause).toEqual(new Error('user left'))
    expect(await ids(store)).toEqual([])
    expect(await store.getCheckpoint(CHECKPOINT_KEY)).toBeUndefined()
    await store.close()
  })

  it('Given a file store, When reopened, Then events and checkpoints are there and versions go on', async () => {
    const path = tempPath()
    const first = await openSqliteStore({ path })
    await first.storeBatch([event('e1'), event('e2')], {
      checkpoint: { key: CHECKPOINT_KEY, value: { version: '2' } },
    })
    await first.close()

    const second = await openSqliteStore({ path })
    const next = await second.store(event('e3'))

    expect(await ids(second)).toEqual(['e1', 'e2', 'e3'])
    expect(next.version.toString()).toBe('3')
    expect(await second.getCheckpoint(CHECKPOINT_KEY)).toEqual({ version: '2' })
    await second.close()
  })

  it('Given my open transaction, When a batch is stored and I roll back, Then the batch is gone too', async () => {
    const database = new Database(':memory:')
    const store = createSqliteStore({ database })
    await store.store(event('e0'))

    database.exec('BEGIN')
    await store.storeBatch([event('e1')])
    await expectCode(
      store.storeBatch([event('e2'), event('e0', { data: 'x' })]),
      'event-id-conflict',
    )
    expect(database.inTransaction).toBe(true)
    expect(await ids(store)).toEqual(['e0', 'e1'])
    database.exec('ROLLBACK')

    expect(await ids(store)).toEqual(['e0'])
    await store.close()
    database.close()
  })
})

describe('sqlite store: connection settings', () => {
  function pragmas(db: SqliteStore['database']): unknown[] {
    return ['journal_mode', 'synchronous', 'busy_timeout'].map((p) =>
      Number.isNaN(Number(db.pragma(p, { simple: true })))
        ? db.pragma(p, { simple: true })
        : Number(db.pragma(p, { simple: true })),
    )
  }

  it('Given default options, When a file store opens, Then it uses WAL, synchronous FULL and a 5 s busy timeout', async () => {
    const store = await openSqliteStore({ path: tempPath() })
    expect(pragmas(store.database)).toEqual(['wal', 2, 5000])
    await store.close()
  })

  it("Given synchronous 'normal' and a busy timeout, When a file store opens, Then they are set", async () => {
    const store = await openSqliteStore({
      path: tempPath(),
      synchronous: 'normal',
      busyTimeoutMs: 250,
    })
    expect(pragmas(store.database)).toEqual(['wal', 1, 250])
    await store.close()
  })

  it('Given configureConnection false, When a store opens my database, Then my settings are kept', () => {
    const database = new Database(tempPath())
    database.pragma('synchronous = OFF')
    createSqliteStore({ database, configureConnection: false })

    expect(database.pragma('journal_mode', { simple: true })).toBe('delete')
    expect(database.pragma('synchronous', { simple: true })).toBe(0)
    database.close()
  })

  it('Given another connection holding the write lock, When storing, Then it rejects with unavailable and succeeds once the lock is gone', async () => {
    const path = tempPath()
    const store = await openSqliteStore({ path, busyTimeoutMs: 0 })
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')

    const error = await expectCode(store.store(event('e1')), 'unavailable')

    expect((error as unknown as { transient: boolean }).transient).toBe(true)
    expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY')
    other.exec('COMMIT')
    other.close()
    expect((await store.store(event('e1'))).duplicate).toBe(false)
    await store.close()
  })

  it.each([
    [{ path: 'x.db' }, 'database'],
    [{}, 'database'],
    [{ database: { prepare: 1 } }, 'database'],
    [{ database: new Database(':memory:'), synchronous: 'off' }, 'synchronous'],
    [{ database: new Database(':memory:'), busyTimeoutMs: -1 }, 'busyTimeoutMs'],
    [{ database: new Database(':memory:'), busyTimeoutMs: 1.5 }, 'busyTimeoutMs'],
    [{ database: new Database(':memory:'), configureConnection: 'yes' }, 'configureConnection'],
    [{ database: new Database(':memory:'), clock: {} }, 'clock'],
  ])(
    'Given bad options %#, When createSqliteStore runs, Then it throws invalid-argument for %s',
    (options, argument) => {
      let error: unknown
      try {
        createSqliteStore(options as never)
      } catch (e) {
        error = e
      }
      expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
      expect((error as { details: unknown }).details).toEqual({ argument })
      expect((error as Error).message).toMatch(/^\[sync-kit\] \[sqlite\] /)
    },
  )

  it('Given a closed database, When createSqliteStore runs, Then it throws invalid-argument', () => {
    const database = new Database(':memory:')
    database.close()
    expect(() => createSqliteStore({ database })).toThrow(/database` is closed/)
  })

  it('Given openSqliteStore without a path, When it runs, Then it rejects with invalid-argument', async () => {
    await expectCode(openSqliteStore({ path: '' }), 'invalid-argument')
    await expectCode(openSqliteStore({} as never), 'invalid-argument')
  })

  it('Given a path in a missing directory, When opened, Then it rejects with internal and the SQLite cause', async () => {
    const error = await expectCode(
      openSqliteStore({ path: join(dir, 'missing', 'dir', 'x.db') }),
      'internal',
    )
    expect(error.cause).toBeInstanceOf(Error)
  })

  it('Given a file that is not a database, When opened, Then it rejects and the file is closed again', async () => {
    const path = tempPath()
    const { writeFileSync } = await import('node:fs')
    writeFileSync(path, 'this is not a database, just text that is long enough to look odd')

    const error = await expectCode(openSqliteStore({ path }), 'internal')

    expect((error.cause as { code?: string }).code).toBe('SQLITE_NOTADB')
    rmSync(path)
  })
})

describe('sqlite store: filter semantics match compileFilters', () => {
  const TYPES = ['A', 'B', 'C'] as const
  const AGGREGATES = ['x', 'y', 'z'] as const
  const TENANTS = [undefined, 't1', 't2'] as const
  const eventArb = fc.record({
    type: fc.constantFrom(...TYPES),
    aggregateId: fc.constantFrom(...AGGREGATES),
    tenant: fc.constantFrom(...TENANTS),
  })
  const filterArb = fc.oneof(
    fc.record({ key: fc.constant('type'), value: fc.constantFrom(...TYPES, 'D') }),
    fc.record({ key: fc.constant('tenant'), value: fc.constantFrom('t1', 't2', 't3') }),
    fc.record({ key: fc.constant('aggregate_id'), value: fc.constantFrom(...AGGREGATES) }),
  )

  it('Given random events, filters, since and limit, When loaded in SQL, Then the result equals the in-memory predicate', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { maxLength: 25 }),
        fc.array(filterArb, { maxLength: 4 }),
        fc.nat({ max: 26 }),
        fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        fc.option(fc.constantFrom(...AGGREGATES), { nil: undefined }),
        async (specs, filters, since, limit, aggregate) => {
          const events = specs.map((s, i) =>
            event(`e${i}`, {
              type: s.type,
              aggregateId: s.aggregateId,
              ...(s.tenant === undefined ? {} : { metadata: { tenant: s.tenant } }),
            }),
          )
          const store = await openSqliteStore({ path: ':memory:' })
          try {
            await store.storeBatch(events)
            const match = compileFilters(filters, 'test')
            const expected = events
              .map((e, i) => ({ id: e.id, seq: i + 1, e }))
              .filter((x) => x.seq > since && match(x.e))
              .filter((x) => aggregate === undefined || x.e.aggregateId === aggregate)
              .slice(0, limit)
              .map((x) => [x.id, String(x.seq)])
            const options = limit === undefined ? { filters } : { filters, limit }
            const sinceVersion = new SequenceVersion(since)
            const page =
              aggregate === undefined
                ? await store.load(sinceVersion, options)
                : await store.loadByAggregate(aggregate, sinceVersion, options)

            expect(page.map((e) => [e.event.id, e.version.toString()])).toEqual(expected)
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})
