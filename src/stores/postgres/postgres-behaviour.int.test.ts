// PostgreSQL-specific behaviour of the store on a real server (SYNC_KIT_TEST_PG): migrations,
// several instances (pools) at once, duplicates that cost nothing, late commits, cancellation,
// close, and a server that is unreachable or drops the connection.
import { createServer } from 'node:net'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, EventWithVersion, Version } from '../../types/index.js'
import { POSTGRES_MIGRATIONS, migratePostgresSchema } from './postgres-migrations.js'
import { LOCK_CLASS, resolveNames } from './postgres-names.js'
import { createPostgresStore } from './postgres-store.js'
import type { PostgresPool, PostgresStore, PostgresStoreOptions } from './postgres-types.js'
import { createTestDatabase, postgresUrl, testPool, type TestDatabase } from './postgres.fixture.js'

const url = postgresUrl()

function ev(id: string, extra: Partial<Event> = {}): Event {
  return { id, type: 'Noted', aggregateId: 'agg-1', data: { id }, ...extra }
}

function ids(records: readonly EventWithVersion[]): string[] {
  return records.map((r) => r.event.id)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe.skipIf(url === undefined)('postgres store', () => {
  let db: TestDatabase
  let admin: pg.Pool
  const stores: PostgresStore[] = []

  beforeAll(async () => {
    db = await createTestDatabase(url as string, 'behaviour')
    admin = db.pool()
  })
  // Pools of one test are ended after it, so the file never holds more than a few connections.
  const pools: pg.Pool[] = []
  const newPool = (config?: pg.PoolConfig): pg.Pool => {
    const pool = db.pool(config)
    pools.push(pool)
    return pool
  }
  afterEach(async () => {
    await Promise.allSettled(stores.splice(0).map((s) => s.close()))
    await Promise.allSettled(pools.splice(0).map((p) => p.end()))
  })
  afterAll(async () => {
    await db.drop()
  })

  async function open(
    pool: PostgresPool,
    schema: string,
    options: Partial<PostgresStoreOptions> = {},
  ): Promise<PostgresStore> {
    const store = await createPostgresStore({ pool, schema, ...options })
    stores.push(store)
    return store
  }

  async function count(sql: string): Promise<number> {
    const result = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`)
    return Number(result.rows[0]?.n)
  }

  async function sequenceState(schema: string): Promise<string> {
    const result = await admin.query<{ v: string }>(
      `SELECT last_value::text || (CASE WHEN is_called THEN '+' ELSE '' END) AS v FROM "${schema}"."sync_kit_event_sequence"`,
    )
    return result.rows[0]?.v as string
  }

  /** The checkpoint whose row a test locks to hold an append open inside PostgreSQL. */
  const HOLD = { key: { remote: 'hold', direction: 'push' }, value: { version: '1' } } as const

  /**
   * Holds an append open on the server: locks the row of the {@link HOLD} checkpoint, so an
   * append writing that checkpoint takes the append lock and its sequence numbers, then waits
   * for the row before it can commit.
   */
  async function lockHoldRow(schema: string): Promise<{ release: () => Promise<void> }> {
    await admin.query(
      `INSERT INTO "${schema}".sync_kit_checkpoints (remote, direction, version) VALUES ('hold', 'push', '0') ON CONFLICT DO NOTHING`,
    )
    const client = await admin.connect()
    await client.query('BEGIN')
    await client.query(
      `SELECT 1 FROM "${schema}".sync_kit_checkpoints WHERE remote = 'hold' FOR UPDATE`,
    )
    return {
      release: async () => {
        await client.query('ROLLBACK')
        client.release()
      },
    }
  }

  /** Waits until a statement of the pool named `application` waits for a lock. */
  async function blockedOnLock(application: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const result = await admin.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [application],
      )
      if (result.rows.length > 0) return
      await sleep(10)
    }
    throw new Error(`no statement of ${application} waited for a lock`)
  }

  /**
   * Holds an append's statement (its write) in flight, so that the next appends of the store
   * wait for their turn, before anything of them is sent.
   */
  async function queueBehind(schema: string) {
    const recorded = testPool(newPool())
    const store = await open(recorded.pool, schema)
    recorded.statements.length = 0
    const hold = recorded.holdNext((text) => text.includes('pg_advisory_xact_lock'))
    const first = store.store(ev('first'))
    await hold.reached
    const appendStatements = (): number =>
      recorded.statements.filter((t) => t.includes('pg_advisory_xact_lock')).length
    return { recorded, store, first, hold, appendStatements }
  }

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

  describe('duplicates', () => {
    it('a duplicate push costs no sequence number and sends no write', async () => {
      const schema = db.freshSchema()
      const recorded = testPool(newPool())
      const store = await open(recorded.pool, schema)
      const [a, b] = await store.storeBatch([ev('a'), ev('b')])
      const before = await sequenceState(schema)
      recorded.statements.length = 0
      const again = await store.storeBatch([ev('a'), ev('b'), ev('a')])
      expect(again.map((r) => [r.version.toString(), r.duplicate])).toEqual([
        [a?.version.toString(), true],
        [b?.version.toString(), true],
        [a?.version.toString(), true],
      ])
      expect(await sequenceState(schema)).toBe(before)
      // One statement, which read the ids and did nothing else: no lock (it answers while
      // another session holds the append lock), no row, no sequence number.
      expect(recorded.statements).toHaveLength(1)
      const names = resolveNames(schema, undefined)
      const locker = await admin.connect()
      try {
        await locker.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS.append, names.lockKey])
        const whileLocked = await Promise.race([
          store.storeBatch([ev('b'), ev('a')]).then((r) => r.map((x) => x.duplicate)),
          sleep(5000).then(() => 'blocked by the append lock'),
        ])
        expect(whileLocked).toEqual([true, true])
      } finally {
        await locker.query('SELECT pg_advisory_unlock_all()')
        locker.release()
      }
      expect(await count(`"${schema}".sync_kit_events`)).toBe(2)
      expect(await sequenceState(schema)).toBe(before)
      const [c] = await store.storeBatch([ev('c')])
      expect(c?.version.toString()).toBe(String(Number(b?.version.toString()) + 1))
    })

    it('a batch mixing duplicates and new events numbers only the new ones, consecutively', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      await store.storeBatch([ev('a'), ev('b')])
      const results = await store.storeBatch([ev('x'), ev('a'), ev('y'), ev('b'), ev('z')])
      expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
        ['3', false],
        ['1', true],
        ['4', false],
        ['2', true],
        ['5', false],
      ])
    })

    it('the same new event pushed through two instances at once is stored once, without a conflict', async () => {
      const schema = db.freshSchema()
      const one = await open(newPool(), schema)
      const two = await open(newPool(), schema)
      for (let round = 0; round < 10; round++) {
        const event = ev(`race-${round}`)
        const [r1, r2] = await Promise.all([one.store(event), two.store(event)])
        expect(r1?.version.toString()).toBe(r2?.version.toString())
        expect([r1?.duplicate, r2?.duplicate].sort()).toEqual([false, true])
      }
      expect(await count(`"${schema}".sync_kit_events`)).toBe(10)
    })
  })

  describe('concurrent appends of one instance', () => {
    it('appends waiting for the one in flight share one statement, each stored whole and consecutively', async () => {
      const schema = db.freshSchema()
      const { store, first, hold, appendStatements } = await queueBehind(schema)
      // Given five appends that arrive while another one's statement runs
      const batches = [0, 1, 2, 3, 4].map((b) => [ev(`m${b}-1`), ev(`m${b}-2`), ev(`m${b}-3`)])
      const appends = batches.map((batch) => store.storeBatch(batch))
      await sleep(20)
      // When it finishes
      hold.release()
      await first
      const results = await Promise.all(appends)
      // Then they went to the database as one more statement (one commit)
      expect(appendStatements()).toBe(2)
      // and each append's events are consecutive, in its order, after the first
      for (const result of results) {
        const versions = result.map((r) => Number(r.version.toString()))
        expect(versions).toEqual([
          versions[0],
          (versions[0] as number) + 1,
          (versions[0] as number) + 2,
        ])
        expect(result.every((r) => !r.duplicate)).toBe(true)
      }
      const all = results.flat().map((r) => Number(r.version.toString()))
      expect(new Set(all).size).toBe(15)
      expect(Math.min(...all)).toBe(2)
      expect(await count(`"${schema}".sync_kit_events`)).toBe(16)
    })

    it('a duplicate or a conflict in a merged statement concerns only its own append', async () => {
      const schema = db.freshSchema()
      const { store, first, hold } = await queueBehind(schema)
      await open(newPool(), schema).then((other) => other.store(ev('x')))
      // Given, merged behind the running statement: new events, a conflicting event, and a
      // duplicate next to a new event
      const fresh = store.storeBatch([ev('a1'), ev('a2')])
      const conflicting = rejection(store.store(ev('x', { data: { other: true } })))
      const mixed = store.storeBatch([ev('x'), ev('c1')])
      await sleep(20)
      hold.release()
      await first
      // Then each append gets its own outcome
      expect((await fresh).map((r) => r.duplicate)).toEqual([false, false])
      expect(isSyncKitError(await conflicting, 'event-id-conflict')).toBe(true)
      expect((await mixed).map((r) => r.duplicate)).toEqual([true, false])
      expect(ids(await store.load(null)).sort()).toEqual(['a1', 'a2', 'c1', 'first', 'x'])
    })

    it('appends sharing an id are not merged: the event is stored once', async () => {
      const schema = db.freshSchema()
      const { store, first, hold, appendStatements } = await queueBehind(schema)
      const one = store.storeBatch([ev('s1'), ev('s2')])
      const two = store.storeBatch([ev('s2'), ev('s3')])
      await sleep(20)
      hold.release()
      await first
      const [r1, r2] = await Promise.all([one, two])
      // The first, then each of the two alone; the second finds s2 stored and writes s3 after.
      expect(appendStatements()).toBe(4)
      expect(r1?.map((r) => r.duplicate)).toEqual([false, false])
      expect(r2?.map((r) => r.duplicate)).toEqual([true, false])
      expect(r2?.[0]?.version.toString()).toBe(r1?.[1]?.version.toString())
      expect(await count(`"${schema}".sync_kit_events`)).toBe(4)
    })
  })

  describe('versions and content', () => {
    it('versions stay exact past 2^53', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      await admin.query(`SELECT setval('"${schema}".sync_kit_event_sequence', 9007199254740992)`)
      const [result] = await store.storeBatch([ev('big')])
      expect(result?.version.toString()).toBe('9007199254740993')
      expect((await store.latestVersion()).toString()).toBe('9007199254740993')
      const page = await store.load(store.parseVersion('9007199254740992'))
      expect(ids(page)).toEqual(['big'])
      expect(await store.load(store.parseVersion('9007199254740993'))).toEqual([])
      expect(await store.load(store.parseVersion('99999999999999999999999'))).toEqual([])
    })

    it('an event reads back exactly as written: key order, numbers, U+0000 inside data', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      const data = {
        z: 1,
        a: [0.1, 1e21, -5e-7, Number('12345678901234567890')],
        m: 'nul\u0000inside',
        '\u0000': true,
      }
      const metadata = { tenant: 't1', b: { y: 1, x: 2 } }
      await store.store(ev('exact', { data, metadata }))
      const [loaded] = await store.load(null)
      expect(JSON.stringify(loaded?.event.data)).toBe(JSON.stringify(data))
      expect(JSON.stringify(loaded?.event.metadata)).toBe(JSON.stringify(metadata))
    })

    it('type parsers the application set on pg do not change what the store reads', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      const int8 = pg.types.getTypeParser(20)
      const json = pg.types.getTypeParser(114)
      pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10))
      pg.types.setTypeParser(114, () => 'parsed by the app')
      try {
        await admin.query(`SELECT setval('"${schema}".sync_kit_event_sequence', 9007199254740992)`)
        await store.store(ev('typed', { data: { n: 1 } }))
        const [loaded] = await store.load(null)
        expect(loaded?.version.toString()).toBe('9007199254740993')
        expect(loaded?.event.data).toEqual({ n: 1 })
      } finally {
        pg.types.setTypeParser(20, int8)
        pg.types.setTypeParser(114, json)
      }
    })

    it('U+0000, which PostgreSQL text cannot hold, is refused in ids and never matches a filter', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      await store.store(ev('plain'))
      for (const event of [
        ev('a\u0000b'),
        ev('x', { type: 'T\u0000' }),
        ev('y', { metadata: { tenant: '\u0000' } }),
      ]) {
        expect(isSyncKitError(await rejection(store.store(event)), 'invalid-event')).toBe(true)
      }
      expect(await store.load(null, { filters: [{ key: 'type', value: '\u0000' }] })).toEqual([])
      expect(await store.loadByAggregate('agg\u0000', null)).toEqual([])
      const key = { remote: 'r\u0000', direction: 'pull' } as const
      expect(await store.getCheckpoint(key)).toBeUndefined()
      const error = await rejection(store.setCheckpoint(key, { version: '1' }))
      expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
      expect(ids(await store.load(null))).toEqual(['plain'])
    })

    it('loadOrCreateEpoch keeps the first candidate and refuses an empty one', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      expect(await store.loadOrCreateEpoch('first')).toBe('first')
      expect(await store.loadOrCreateEpoch('second')).toBe('first')
      const error = await rejection(store.loadOrCreateEpoch(''))
      expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    })
  })

  describe('late commits', () => {
    it('the scenario is real: a plain seq read skips an append that commits late', async () => {
      // Given a table numbered by a sequence at insert time, without the store's guard
      const table = `"${db.freshSchema()}_naive"`
      await admin.query(`CREATE TABLE ${table} (seq bigserial PRIMARY KEY, id text)`)
      const slow = await admin.connect()
      try {
        // When an insert takes number 1 and commits late, while another takes 2 and commits
        await slow.query(`BEGIN; INSERT INTO ${table} (id) VALUES ('late')`)
        await admin.query(`INSERT INTO ${table} (id) VALUES ('early')`)
        // and a reader moves its cursor to the newest number it sees
        const first = await admin.query<{ seq: string }>(
          `SELECT seq::text FROM ${table} WHERE seq > 0`,
        )
        const cursor = first.rows.at(-1)?.seq
        await slow.query('COMMIT')
        // Then the late event is behind the cursor for good
        const next = await admin.query(`SELECT id FROM ${table} WHERE seq > $1`, [cursor])
        expect(cursor).toBe('2')
        expect(next.rows).toEqual([])
      } finally {
        slow.release()
      }
    })

    it('no reader, on any instance, skips an append held open while others append', async () => {
      const schema = db.freshSchema()
      const application = `held-${schema}`
      const writerA = await open(newPool({ application_name: application }), schema)
      const writerB = await open(newPool(), schema)
      const writerC = await open(newPool(), schema)
      // Readers on pools of their own: other server instances.
      const readers = [await open(newPool(), schema), await open(newPool(), schema)]
      await writerB.store(ev('before'))

      // Given an append that has taken its sequence number but not committed
      const hold = await lockHoldRow(schema)
      const heldAppend = writerA.storeBatch([ev('held')], { checkpoint: HOLD })
      await blockedOnLock(application)
      // When other instances append meanwhile (they wait for the append lock)
      let othersDone = false
      const others = Promise.all([
        writerB.store(ev('b1')),
        writerC.storeBatch([ev('c1'), ev('c2')]),
      ]).then((results) => {
        othersDone = true
        return results
      })
      const cursors = readers.map(() => ({
        since: null as Version | null,
        seen: [] as EventWithVersion[],
      }))
      // and readers page through the log all along, moving their cursors past what they saw
      const poll = async (): Promise<void> => {
        await Promise.all(
          readers.map(async (reader, i) => {
            const cursor = cursors[i] as (typeof cursors)[number]
            for (;;) {
              const page = await reader.load(cursor.since, { limit: 2 })
              if (page.length === 0) return
              cursor.seen.push(...page)
              cursor.since = (page.at(-1) as EventWithVersion).version
            }
          }),
        )
      }
      // A failing expectation must not leave the transaction open for the tests after this one.
      try {
        for (let i = 0; i < 10; i++) {
          await poll()
          await sleep(10)
        }
        expect(othersDone).toBe(false)
        await poll()
        // Then no reader has moved past the held event
        for (const cursor of cursors) expect(ids(cursor.seen)).toEqual(['before'])
      } finally {
        await hold.release()
      }
      const [heldResult] = await heldAppend
      await others
      await poll()
      // And every reader gets every event exactly once, in version order
      for (const cursor of cursors) {
        expect(ids(cursor.seen).sort()).toEqual(['b1', 'before', 'c1', 'c2', 'held'])
        const versions = cursor.seen.map((r) => BigInt(r.version.toString()))
        expect(versions).toEqual([...versions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)))
        expect(new Set(versions).size).toBe(5)
      }
      expect(heldResult?.version.toString()).toBe('2')
    })
  })

  describe('cancellation and close', () => {
    it('an append aborted before its write is sent rejects at once with aborted and stores nothing', async () => {
      // An append's statement is its write: the next append waits for its turn, before anything
      // of it is sent.
      const { recorded, store, first, hold } = await queueBehind(db.freshSchema())
      const controller = new AbortController()
      const append = store.store(ev('aborted'), { signal: controller.signal })
      await sleep(20)
      controller.abort(new Error('the user left'))
      const error = await rejection(append)
      expect(isSyncKitError(error, 'aborted')).toBe(true)
      hold.release()
      await first
      await sleep(50)
      expect(recorded.statements.filter((t) => t.includes('INSERT'))).toHaveLength(1)
      expect(ids(await store.load(null))).toEqual(['first'])
    })

    it('an abort after the write was sent is ignored: the call reports what happened', async () => {
      const schema = db.freshSchema()
      const application = `abort-${schema}`
      const store = await open(newPool({ application_name: application }), schema)
      const hold = await lockHoldRow(schema)
      const controller = new AbortController()
      let append: Promise<unknown>
      try {
        append = store.storeBatch([ev('committed')], {
          checkpoint: HOLD,
          signal: controller.signal,
        })
        await blockedOnLock(application)
        controller.abort()
      } finally {
        await hold.release()
      }
      expect(await append).toEqual([expect.objectContaining({ duplicate: false })])
      expect(ids(await store.load(null))).toEqual(['committed'])
    })

    it('a load aborted while its query runs rejects at once with aborted', async () => {
      const schema = db.freshSchema()
      const recorded = testPool(newPool())
      const store = await open(recorded.pool, schema)
      const hold = recorded.holdNext((text) => text.includes('ORDER BY e.seq'))
      const controller = new AbortController()
      const load = store.load(null, { signal: controller.signal })
      await hold.reached
      controller.abort()
      expect(isSyncKitError(await rejection(load), 'aborted')).toBe(true)
      hold.release()
    })

    it('close waits for running calls, then every call rejects with closed; the pool stays open', async () => {
      const schema = db.freshSchema()
      const application = `close-${schema}`
      const pool = newPool({ application_name: application })
      const store = await open(pool, schema)
      const hold = await lockHoldRow(schema)
      const append = store.storeBatch([ev('in-flight')], { checkpoint: HOLD })
      let closed = false
      let closing: Promise<void>
      try {
        await blockedOnLock(application)
        closing = store.close().then(() => {
          closed = true
        })
        await sleep(30)
        expect(closed).toBe(false)
      } finally {
        await hold.release()
      }
      await closing
      expect(await append).toEqual([expect.objectContaining({ duplicate: false })])
      expect(isSyncKitError(await rejection(store.load(null)), 'closed')).toBe(true)
      expect(isSyncKitError(await rejection(store.loadOrCreateEpoch('e')), 'closed')).toBe(true)
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    })
  })

  describe('watch', () => {
    /** Resolves with the listener's argument at its next call. */
    function nextWake(calls: ((latest?: string) => void)[]): Promise<string | undefined> {
      return new Promise((resolve) => calls.push(resolve))
    }

    function watcherOf(store: PostgresStore, pollIntervalMs = 60_000) {
      const waiting: ((latest?: string) => void)[] = []
      const wakes: (string | undefined)[] = []
      const stop = store.watch(
        (latest) => {
          wakes.push(latest)
          for (const resolve of waiting.splice(0)) resolve(latest)
        },
        { pollIntervalMs, backoff: { initialMs: 20, maxMs: 100 } },
      )
      return { stop, wakes, next: () => nextWake(waiting) }
    }

    it('an append through one instance wakes a watcher on another with the newest version', async () => {
      const schema = db.freshSchema()
      const writer = await open(newPool(), schema)
      const watched = await open(newPool(), schema)
      const watcher = watcherOf(watched)
      expect(await watcher.next()).toBeUndefined() // listening: the catch-up wake
      const woken = watcher.next()
      const [, second] = await writer.storeBatch([ev('w1'), ev('w2')])
      expect(await woken).toBe(second?.version.toString())
      // A duplicate writes nothing and notifies nobody.
      await writer.storeBatch([ev('w1')])
      await sleep(100)
      expect(watcher.wakes).toHaveLength(2)
      await watcher.stop()
    })

    it('a dropped listening connection is reconnected with backoff, waking the watcher again', async () => {
      const schema = db.freshSchema()
      const application = `watch-${schema}`
      const writer = await open(newPool(), schema)
      const watched = await open(newPool({ application_name: application }), schema)
      const watcher = watcherOf(watched)
      await watcher.next()
      const reconnected = watcher.next()
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      )
      expect(await reconnected).toBeUndefined() // listening again: the catch-up wake
      const woken = watcher.next()
      const [result] = await writer.storeBatch([ev('after-drop')])
      expect(await woken).toBe(result?.version.toString())
      await watcher.stop()
    })

    it('the fallback poll wakes a watcher without any notification', async () => {
      const schema = db.freshSchema()
      const watched = await open(newPool(), schema)
      const watcher = watcherOf(watched, 30)
      await sleep(200)
      expect(watcher.wakes.length).toBeGreaterThanOrEqual(3)
      await watcher.stop()
      const after = watcher.wakes.length
      await sleep(100)
      expect(watcher.wakes.length).toBe(after)
    })

    it('stopping or closing releases the listening connection', async () => {
      const schema = db.freshSchema()
      const application = `unwatch-${schema}`
      const store = await open(newPool({ application_name: application }), schema)
      const listening = async (): Promise<number> =>
        count(`pg_stat_activity WHERE application_name = '${application}' AND query LIKE 'LISTEN%'`)
      const first = watcherOf(store)
      await first.next()
      expect(await listening()).toBe(1)
      await first.stop()
      await sleep(50)
      expect(await listening()).toBe(0)
      const second = watcherOf(store)
      await second.next()
      await store.close()
      await sleep(50)
      expect(await listening()).toBe(0)
      expect(() => store.watch(() => undefined)).toThrow(/called after close/)
    })
  })

  describe('failures', () => {
    it('an unreachable server rejects with unavailable, the driver error as cause and no SQL', async () => {
      const port = await new Promise<number>((resolve) => {
        const server = createServer()
        server.listen(0, '127.0.0.1', () => {
          const address = server.address() as { port: number }
          server.close(() => resolve(address.port))
        })
      })
      const pool = new pg.Pool({
        host: '127.0.0.1',
        port,
        user: 'nobody',
        connectionTimeoutMillis: 2000,
      })
      pool.on('error', () => undefined)
      try {
        const error = await rejection(createPostgresStore({ pool }))
        expect(isSyncKitError(error, 'unavailable')).toBe(true)
        expect((error as { transient: boolean }).transient).toBe(true)
        expect((error as { cause: { code?: string } }).cause.code).toBe('ECONNREFUSED')
        expect((error as Error).message).not.toMatch(/SELECT|BEGIN|CREATE/)
      } finally {
        await pool.end()
      }
    })

    it('a connection the server drops mid-append is unavailable, stores nothing, and the next call works', async () => {
      const schema = db.freshSchema()
      const application = `drop-${schema}`
      const store = await open(newPool({ application_name: application }), schema)
      const hold = await lockHoldRow(schema)
      let outcome: Promise<unknown>
      try {
        outcome = rejection(store.storeBatch([ev('dropped')], { checkpoint: HOLD }))
        await blockedOnLock(application)
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [application],
        )
      } finally {
        await hold.release()
      }
      const error = await outcome
      expect(isSyncKitError(error, 'unavailable')).toBe(true)
      expect((error as Error).message).not.toMatch(/COMMIT|INSERT|SELECT/)
      await store.store(ev('after'))
      expect(ids(await store.load(null))).toEqual(['after'])
    })

    it('a database error is internal, naming the SQLSTATE but neither SQL nor the server text', async () => {
      const schema = db.freshSchema()
      const store = await open(newPool(), schema)
      await admin.query(`DROP TABLE "${schema}".sync_kit_events`)
      const error = await rejection(store.load(null))
      expect(isSyncKitError(error, 'internal')).toBe(true)
      expect((error as Error).message).toMatch(/42P01/)
      expect((error as Error).message).not.toMatch(/SELECT|sync_kit_events|does not exist/)
      expect((error as { cause: { code?: string } }).cause.code).toBe('42P01')
    })
  })
})
