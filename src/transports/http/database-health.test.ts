// `GET /v1/health` for a store reached over a network (one with `ping`, as the PostgreSQL store):
// it reports whether the database answers, with at most one ping a second, bounded in time.
import { describe, expect, it } from 'vitest'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { delegatingStore } from '../../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { TestClock } from '../../testing/test-clock.js'
import type { EventStore, SignalOptions } from '../../types/index.js'
import { HEALTH_PING_TIMEOUT_MS } from './store-health.js'
import { createSyncHandler } from './sync-handler.js'

/** A memory store with a `ping` the test steers: answer, fail, or never answer. */
function networkStore(): {
  store: EventStore
  pings: () => number
  mode: (next: 'up' | 'down' | 'silent') => void
} {
  const inner = createMemoryStore()
  let state: 'up' | 'down' | 'silent' = 'up'
  let pings = 0
  const store: EventStore = {
    ...delegatingStore(inner),
    ping: (options?: SignalOptions): Promise<void> => {
      pings++
      if (state === 'up') return Promise.resolve()
      if (state === 'down') {
        return Promise.reject(
          new SyncKitError(
            'unavailable',
            '[sync-kit] [postgres] ping failed: the database server cannot be reached',
            {},
          ),
        )
      }
      return new Promise<void>((_, reject) => {
        options?.signal?.addEventListener('abort', () =>
          reject(new SyncKitError('aborted', '[sync-kit] [postgres] ping was aborted', {})),
        )
      })
    },
  }
  return { store, pings: () => pings, mode: (next) => (state = next) }
}

const get = (path: string): Request => new Request(`http://localhost${path}`)

describe('health of a database reached over a network', () => {
  it('Given a store whose database answers, When /v1/health is asked, Then 200 says it is reachable', async () => {
    const { store } = networkStore()
    const handler = createSyncHandler({ store })
    const response = await handler(get('/v1/health'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      status: 'ok',
      database: { reachable: true, latencyMs: expect.any(Number) as number },
    })
  })

  it('Given the database goes away, When /v1/health is asked, Then 503 names the cause and since when, pings at most once a second, and 200 comes back once it answers', async () => {
    const clock = new TestClock(Date.parse('2025-06-01T12:00:00.000Z'))
    const { store, pings, mode } = networkStore()
    const handler = createSyncHandler({ store, clock })
    expect((await handler(get('/v1/health'))).status).toBe(200)
    mode('down')
    // Within the second the last answer stands, without a ping
    expect((await handler(get('/v1/health'))).status).toBe(200)
    expect(pings()).toBe(1)
    await clock.advance(1000)
    const down = await handler(get('/v1/health'))
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('5')
    expect(await down.json()).toEqual({
      status: 'unavailable',
      database: {
        reachable: false,
        since: '2025-06-01T12:00:01.000Z',
        code: 'unavailable',
        message: '[sync-kit] [postgres] ping failed: the database server cannot be reached',
      },
    })
    await clock.advance(1000)
    const still = (await (await handler(get('/v1/health'))).json()) as {
      database: { since: string }
    }
    expect(still.database.since).toBe('2025-06-01T12:00:01.000Z')
    mode('up')
    await clock.advance(1000)
    expect((await handler(get('/v1/health'))).status).toBe(200)
    expect(pings()).toBe(4)
  })

  it('Given a database that never answers, When /v1/health is asked, Then it answers 503 once the ping times out', async () => {
    const clock = new TestClock()
    const { store, mode } = networkStore()
    mode('silent')
    const handler = createSyncHandler({ store, clock })
    const pending = handler(get('/v1/health'))
    await clock.advance(HEALTH_PING_TIMEOUT_MS)
    const response = await pending
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({
      database: {
        reachable: false,
        code: 'unavailable',
        message: expect.stringMatching(/did not answer a ping within 2000 ms/) as string,
      },
    })
  })

  it('Given a store without ping (memory, SQLite), When /v1/health is asked, Then the body is as before', async () => {
    const handler = createSyncHandler({ store: createMemoryStore() })
    expect(await (await handler(get('/v1/health'))).json()).toEqual({ status: 'ok' })
  })
})
