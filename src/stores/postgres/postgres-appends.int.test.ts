// Appends of the PostgreSQL store on a real server (SYNC_KIT_TEST_PG): duplicates that cost
// nothing, appends of one instance merged into one statement, versions past 2^53 and content read
// back exactly, and late commits that no reader on any instance skips. The hooks and helpers live
// in postgres.fixture.ts (usePostgresBehaviour).
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { EventWithVersion, Version } from '../../types/index.js'
import { LOCK_CLASS, resolveNames } from './postgres-names.js'
import {
  HOLD,
  ev,
  ids,
  postgresUrl,
  rejection,
  sleep,
  testPool,
  usePostgresBehaviour,
} from './postgres.fixture.js'

const url = postgresUrl()

describe.skipIf(url === undefined)('postgres store', () => {
  const {
    db,
    admin,
    open,
    newPool,
    count,
    sequenceState,
    lockHoldRow,
    blockedOnLock,
    queueBehind,
  } = usePostgresBehaviour('appends')

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
})
