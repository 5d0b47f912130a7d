// The PostgreSQL store's calls over time on a real server (SYNC_KIT_TEST_PG): cancellation
// before and after the write is sent, close while calls run, watch across instances and a dropped
// listening connection, and a server that is unreachable or drops the connection. The hooks and
// helpers live in postgres.fixture.ts (usePostgresBehaviour).
import { createServer } from 'node:net'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createPostgresStore } from './postgres-store.js'
import type { PostgresStore } from './postgres-types.js'
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
  const { db, admin, open, newPool, count, lockHoldRow, blockedOnLock, queueBehind } =
    usePostgresBehaviour('lifecycle')

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
