// The server's own limits and refusals, driven through `createSyncHandler` (issues 9 and 10):
// the drift bound, the live-stream limit, the global body budget, and the store's health.
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { TestClock } from '../../testing/test-clock.js'
import { Hlc } from '../../versions/hlc.js'
import { BodyBudget } from './body-budget.js'
import { createHttpTransport } from './http-transport.js'
import type { SyncLogEntry } from './logger.js'
import { createSyncHandler } from './sync-handler.js'
import { get, makeEvent, pushEvents, pushRequest } from './test-helpers.fixture.js'

const NOW = Date.UTC(2025, 0, 1)
const clock = { now: () => NOW }

function stamped(id: string, aheadMs: number): ReturnType<typeof makeEvent> {
  return makeEvent(id, { metadata: { hlc: new Hlc(NOW + aheadMs, 0, 'phone').toString() } })
}

async function errorOf(
  response: Response,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error
}

describe('the drift bound of pushes', () => {
  it('Given an event stamped 10 minutes ahead of the server, When pushed with others, Then 422 clock-drift names it and nothing is stored', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({ store, clock })

    const response = await handler(
      pushEvents([stamped('ok-1', 1000), stamped('far', 10 * 60_000), stamped('ok-2', 0)]),
    )

    expect(response.status).toBe(422)
    const error = await errorOf(response)
    expect(error.code).toBe('clock-drift')
    expect(error.details).toMatchObject({
      eventId: 'far',
      driftMs: 10 * 60_000,
      maxDriftMs: 5 * 60_000,
      stamp: new Hlc(NOW + 10 * 60_000, 0, 'phone').toString(),
    })
    expect(error.message).toContain('"far"')
    expect(store.size).toBe(0)
  })

  it('Given stamps within the bound, in the past, malformed or missing, When pushed, Then they are stored', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({ store, clock })

    const response = await handler(
      pushEvents([
        stamped('edge', 5 * 60_000),
        stamped('old', -86_400_000),
        makeEvent('odd', { metadata: { hlc: 'not-a-stamp' } }),
        makeEvent('none'),
      ]),
    )

    expect(response.status).toBe(200)
    expect(store.size).toBe(4)
  })

  it.each([0, Infinity])(
    'Given maxDriftMs %s, When an event stamped years ahead is pushed, Then it is stored (the bound is off)',
    async (maxDriftMs) => {
      const store = createMemoryStore()
      const handler = createSyncHandler({ store, clock, maxDriftMs })
      const response = await handler(pushEvents([stamped('future', 10 * 365 * 86_400_000)]))
      expect(response.status).toBe(200)
    },
  )

  it('Given a configured bound and an injected clock, When the clock moves, Then the same stamp is refused, then accepted', async () => {
    const moving = new TestClock(NOW)
    const handler = createSyncHandler({
      store: createMemoryStore(),
      clock: moving,
      maxDriftMs: 1000,
    })
    const event = stamped('e1', 5000)

    expect((await handler(pushEvents([event]))).status).toBe(422)
    await moving.advance(4000)
    expect((await handler(pushEvents([event]))).status).toBe(200)
  })

  it('Given the HTTP client, When the server refuses a push for drift, Then the client gets a clock-drift SyncKitError with the event id', async () => {
    const handler = createSyncHandler({ store: createMemoryStore(), clock })
    const transport = createHttpTransport({
      url: 'http://sync.test',
      fetch: (input, init) => handler(new Request(input, init)),
      retry: { retries: 0 },
    })

    const error = await transport.push([stamped('far', 3_600_000)]).catch((e: unknown) => e)

    expect(isSyncKitError(error, 'clock-drift')).toBe(true)
    if (!isSyncKitError(error, 'clock-drift')) return
    expect(error.details).toMatchObject({ eventId: 'far', driftMs: 3_600_000, maxDriftMs: 300_000 })
    expect(error.details.stamp).toMatch(/-phone$/)
    await transport.close()
  })
})

describe('the live-stream limit', () => {
  it('Given maxStreams 2 and two open streams, When a third is asked for, Then 503 with Retry-After, and a slot freed is taken again', async () => {
    const records: SyncLogEntry[] = []
    const handler = createSyncHandler({
      store: createMemoryStore(),
      maxStreams: 2,
      logger: (entry) => records.push(entry),
    })
    const first = new AbortController()
    const a = await handler(new Request('http://sync.test/v1/stream', { signal: first.signal }))
    const b = await handler(get('/v1/stream'))
    expect([a.status, b.status]).toEqual([200, 200])

    const refused = await handler(get('/v1/stream'))

    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    const error = await errorOf(refused)
    expect(error.code).toBe('unavailable')
    expect(error.message).toContain('2 live streams')
    expect(records.at(-1)).toMatchObject({ status: 503, code: 'unavailable', path: '/v1/stream' })

    await a.body?.cancel()
    const again = await handler(get('/v1/stream'))
    expect(again.status).toBe(200)
    await again.body?.cancel()
    await b.body?.cancel()
    await handler.close()
  })

  it('Given maxStreams 1, When a stream is refused for a bad cursor, Then its slot is given back', async () => {
    const handler = createSyncHandler({ store: createMemoryStore(), maxStreams: 1 })
    expect((await handler(get('/v1/stream?since=garbage'))).status).toBe(400)
    const ok = await handler(get('/v1/stream'))
    expect(ok.status).toBe(200)
    await ok.body?.cancel()
  })
})

describe('the body budget', () => {
  it('Given a budget with room, When takes fit, Then they are granted at once; released bytes return', () => {
    const budget = new BodyBudget(100, 1000, new TestClock(0))
    const a = budget.open()
    expect(a.take(60)).toBeUndefined()
    expect(budget.used).toBe(60)
    a.release()
    a.release()
    expect(budget.used).toBe(0)
  })

  it('Given a full budget, When a younger request waits, Then it is served once an older one releases', async () => {
    const timers = new TestClock(0)
    const budget = new BodyBudget(100, 1000, timers)
    const old = budget.open()
    old.take(80)
    const young = budget.open()
    const waiting = young.take(50)
    expect(waiting).toBeInstanceOf(Promise)

    old.release()

    await expect(waiting).resolves.toBeUndefined()
    expect(budget.used).toBe(50)
  })

  it('Given a full budget, When the wait passes, Then the waiting request is refused with unavailable and gives its bytes back', async () => {
    const timers = new TestClock(0)
    const budget = new BodyBudget(100, 1000, timers)
    const busy = budget.open()
    busy.take(90)
    const other = budget.open()
    other.take(5)
    const waiting = other.take(50)
    const outcome = waiting?.then(
      () => 'granted',
      (error: unknown) => error,
    )

    await timers.advance(1000)

    const error = await outcome
    expect(isSyncKitError(error, 'unavailable')).toBe(true)
    expect(budget.used).toBe(90)
  })

  it('Given every request holding bytes waits for more, When the budget stalls, Then the youngest gives way at once and the oldest proceeds', async () => {
    const budget = new BodyBudget(100, 60_000, new TestClock(0))
    const old = budget.open()
    const young = budget.open()
    old.take(50)
    young.take(50)
    const oldMore = old.take(30)
    const youngMore = young.take(30)

    await expect(youngMore).rejects.toMatchObject({ code: 'unavailable' })
    await expect(oldMore).resolves.toBeUndefined()
    expect(budget.used).toBe(80)
  })

  it('Given a handler with a small budget, When a push waits past its wait, Then it gets 503 with Retry-After and stores nothing', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({
      store,
      maxBodyBytes: 1024,
      maxDecompressedBytes: 1024,
      maxBufferedBodyBytes: 1024,
      bodyBudgetWaitMs: 50,
    })
    // A push whose body has arrived in part holds most of the budget while its client stalls.
    let stalled!: ReadableStreamDefaultController<Uint8Array>
    const slow = handler(
      pushRequest(
        new ReadableStream<Uint8Array>({
          start(controller) {
            stalled = controller
            controller.enqueue(new TextEncoder().encode(`{"events":[${' '.repeat(900)}`))
          },
        }),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    const body = JSON.stringify({ events: [makeEvent('e1', { data: 'x'.repeat(300) })] })

    const refused = await handler(pushRequest(body))

    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await errorOf(refused)).message).toContain('memory budget')
    stalled.enqueue(new TextEncoder().encode(']}'))
    stalled.close()
    expect((await slow).status).toBe(200)
    expect((await handler(pushRequest(body))).status).toBe(200)
    expect(store.size).toBe(1)
  })

  it('Given maxBufferedBodyBytes below the largest body, When the handler is created, Then it is refused with invalid-argument', () => {
    expect(() =>
      createSyncHandler({ store: createMemoryStore(), maxBufferedBodyBytes: 1024 * 1024 }),
    ).toThrow(/maxBufferedBodyBytes/)
  })
})
