import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { openSqliteStore } from '../../stores/sqlite/index.js'
import {
  HOSTILE_LIMITS,
  checkAnswer,
  hostileRequests,
  toRequest,
} from './hostile-requests.fixture.js'
import { createSyncHandler } from './sync-handler.js'
import { BASE, gzip } from './test-helpers.fixture.js'

/** Fixed so CI runs are reproducible; override with FC_SEED=<n> to explore. */
const SEED = Number(process.env['FC_SEED'] ?? 20_261_129)

let bombs: Uint8Array<ArrayBuffer>[] = []

beforeAll(async () => {
  // Compressed once: 4 MiB of zeros (~4 KiB gzip) and a concatenation of members.
  const zeros = await gzip(new Uint8Array(4 * 1024 * 1024))
  const doubled = new Uint8Array(zeros.length * 2)
  doubled.set(zeros)
  doubled.set(zeros, zeros.length)
  bombs = [zeros, doubled]
})

describe('hostile input (property, handler level)', () => {
  it('Given 1,000+ random and mutated requests at every endpoint, When served, Then never 5xx, always the error body, nothing stored from a rejection', async () => {
    let accepted = 0
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileRequests(bombs), { minLength: 1, maxLength: 4 }),
        async (specs) => {
          const store = createMemoryStore()
          const handler = createSyncHandler({
            store,
            ...HOSTILE_LIMITS,
            authorize: (request) =>
              request.headers.get('authorization') === 'Bearer no'
                ? Promise.reject(new SyncKitError('unauthorized', 'bad token', {}))
                : Promise.resolve({}),
          })
          for (const spec of specs) {
            const before = store.size
            const response = await handler(toRequest(spec))
            if (response.status < 400) accepted++
            else rejected++
            await checkAnswer(spec, response, before, store.size, `seed ${SEED}`)
          }
        },
      ),
      { seed: SEED, numRuns: 500, verbose: 1 },
    )
    // Both sides were exercised (1,000+ requests in all).
    expect(accepted + rejected).toBeGreaterThanOrEqual(1000)
    expect(accepted).toBeGreaterThan(50)
    expect(rejected).toBeGreaterThan(500)
  })

  it('Given 300 hostile requests against a SQLite store, When served in sequence, Then the invariants hold there too', async () => {
    // Regression: a since or Last-Event-ID past 2^63 − 1 was a 500 with SQLite only (the store
    // could not bind the cursor), so the memory-store runs above never saw it.
    const store = await openSqliteStore({ path: ':memory:' })
    try {
      const handler = createSyncHandler({ store, ...HOSTILE_LIMITS })
      const count = store.database.prepare('SELECT count(*) AS n FROM events')
      const size = (): number => Number((count.get() as { n: number }).n)
      const samples = fc.sample(hostileRequests(bombs), { seed: SEED + 1, numRuns: 300 })
      for (const spec of samples) {
        const before = size()
        const response = await handler(toRequest(spec))
        await checkAnswer(spec, response, before, size(), `sqlite, seed ${SEED + 1}`)
      }
      for (const path of [
        '/v1/events?since=99999999999999999999',
        '/v1/stream?since=9223372036854775808',
      ]) {
        const response = await handler(new Request(`${BASE}${path}`))
        expect(response.status, path).toBe(200)
        await response.body?.cancel()
      }
    } finally {
      await store.close()
    }
  })

  it('Given 300 hostile requests against one long-lived store, When served in sequence, Then the invariants hold as the store fills up', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({ store, ...HOSTILE_LIMITS })
    const samples = fc.sample(hostileRequests(bombs), { seed: SEED, numRuns: 300 })
    for (const spec of samples) {
      const before = store.size
      const response = await handler(toRequest(spec))
      await checkAnswer(spec, response, before, store.size, `seed ${SEED}`)
    }
  })
})
