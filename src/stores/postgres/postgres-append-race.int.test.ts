// Concurrent appends from several store instances on one log (SYNC_KIT_TEST_PG): the versions an
// append returns are computed from the sequence range it reserved, not read back from the rows,
// so this checks them against the table under a race of duplicates, partly stored batches and
// checkpoints, and checks that every NOTIFY names a committed version.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Event, StoreResult } from '../../types/index.js'
import { resolveNames } from './postgres-names.js'
import { createPostgresStore } from './postgres-store.js'
import type { PostgresStore } from './postgres-types.js'
import { createTestDatabase, postgresUrl, type TestDatabase } from './postgres.fixture.js'

const url = postgresUrl()

/** The same content for the same id, so a repeated id is a duplicate, never a conflict. */
const ev = (n: number): Event => ({
  id: `e-${n}`,
  type: 'Noted',
  aggregateId: `agg-${n % 7}`,
  data: { n },
})

/** A small seeded generator (Park–Miller), so a failure replays. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 48_271) % 2_147_483_647
    return state / 2_147_483_647
  }
}

describe.skipIf(url === undefined)(
  'postgres store: concurrent appends of several instances',
  () => {
    let db: TestDatabase

    beforeAll(async () => {
      db = await createTestDatabase(url as string, 'append-race')
    })
    afterAll(async () => {
      await db.drop()
    })

    it.each([1, 2])(
      'Given 4 instances on one schema and 400 concurrent batches of 1–6 ids drawn from 80 (seed %i), some with checkpoints, When all settle, Then every version returned is the row’s seq, each id is new exactly once, and every notification names a committed version',
      async (seed) => {
        const schema = db.freshSchema()
        const pools = Array.from({ length: 4 }, () => db.pool({ max: 4 }))
        const admin = pools[0] as pg.Pool
        const stores: PostgresStore[] = []
        for (const pool of pools) stores.push(await createPostgresStore({ pool, schema }))
        const listener = new pg.Client({ connectionString: db.url })
        await listener.connect()
        const notified: bigint[] = []
        listener.on('notification', (message) => notified.push(BigInt(message.payload ?? '0')))
        await listener.query(`LISTEN ${resolveNames(schema, undefined).channel}`)
        try {
          const next = random(seed)
          const calls = Array.from({ length: 400 }, (_, i) => {
            const size = 1 + Math.floor(next() * 6)
            const batch = Array.from({ length: size }, () => ev(Math.floor(next() * 80)))
            const store = stores[i % stores.length] as PostgresStore
            const checkpoint =
              i % 3 === 0
                ? {
                    key: { remote: `r-${i % 4}`, direction: 'pull' as const },
                    value: { version: String(i) },
                  }
                : undefined
            return store
              .storeBatch(batch, checkpoint === undefined ? undefined : { checkpoint })
              .then((results) => ({ batch, results }))
          })
          const settled = await Promise.all(calls)

          const rows = await admin.query<{ seq: string; id: string }>(
            `SELECT seq::text AS seq, id FROM "${schema}".sync_kit_events`,
          )
          const seqOf = new Map(rows.rows.map((row) => [row.id, row.seq]))
          const drawn = new Set(settled.flatMap(({ batch }) => batch.map((e) => e.id)))
          // Each drawn id is stored once.
          expect(rows.rows).toHaveLength(drawn.size)
          expect(new Set(seqOf.keys())).toEqual(drawn)
          const fresh = new Map<string, number>()
          for (const { batch, results } of settled) {
            expect(results).toHaveLength(batch.length)
            batch.forEach((event, i) => {
              const result = results[i] as StoreResult
              expect([event.id, result.version.toString()]).toEqual([event.id, seqOf.get(event.id)])
              if (!result.duplicate) fresh.set(event.id, (fresh.get(event.id) ?? 0) + 1)
            })
          }
          expect([...fresh.values()].every((n) => n === 1)).toBe(true)
          expect(new Set(fresh.keys())).toEqual(drawn)

          const checkpoints = await admin.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM "${schema}".sync_kit_checkpoints`,
          )
          expect(Number(checkpoints.rows[0]?.n)).toBe(4)

          // NOTIFY is sent at commit: wait until the newest version has been announced.
          const newest = rows.rows.reduce(
            (max, row) => (BigInt(row.seq) > max ? BigInt(row.seq) : max),
            0n,
          )
          for (let waited = 0; !notified.includes(newest) && waited < 5_000; waited += 20) {
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          const committed = new Set(rows.rows.map((row) => BigInt(row.seq)))
          expect(notified.filter((version) => !committed.has(version))).toEqual([])
          expect(notified).toContain(newest)
        } finally {
          await listener.end()
          // The pools are ended by `db.drop()`.
          await Promise.allSettled(stores.map((store) => store.close()))
        }
      },
    )
  },
)
