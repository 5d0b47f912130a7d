import { setImmediate } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { TestClock } from '../../testing/test-clock.js'
import type { Event, Timers } from '../../types/index.js'
import { createHttpTransport } from './http-transport.js'
import { BASE, makeEvents } from './test-helpers.fixture.js'

// One retry layer per path (see the TSDoc of createHttpTransport and docs/protocol.md): the
// request layer retries a call, and nothing stacked on it inside the client retries again.

type Fetch = typeof fetch

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

const TOO_LARGE = { error: { code: 'payload-too-large', message: 'too large', details: {} } }
const BUSY = { error: { code: 'unavailable', message: 'busy' } }

/** A TestClock's timers that record every backoff wait (the per-attempt timeouts aside). */
function recordingTimers(clock: TestClock, timeoutMs: number): { timers: Timers; waits: number[] } {
  const waits: number[] = []
  return {
    waits,
    timers: {
      setTimeout: (fn, ms) => {
        if (ms !== timeoutMs) waits.push(ms)
        return clock.setTimeout(fn, ms)
      },
      clearTimeout: clock.clearTimeout,
    },
  }
}

/** Runs `call` to its end on a TestClock, 1 ms at a time, letting real I/O callbacks run too. */
async function settle<T>(clock: TestClock, call: Promise<T>): Promise<T | { error: unknown }> {
  let done = false
  const outcome = call.then(
    (value) => value,
    (error: unknown) => ({ error }),
  )
  void outcome.finally(() => {
    done = true
  })
  while (!done) {
    await clock.advance(1)
    await setImmediate()
  }
  return outcome
}

describe('createHttpTransport: one retry layer per path', () => {
  it('Given a batch the server splits (413) and a 503 before each part, When pushing with retries 3, Then the parts share one budget: 3 retries in all, waits growing across parts, then unavailable', async () => {
    // Given a server that takes at most two events per push and is busy once for every part
    const clock = new TestClock()
    const { timers, waits } = recordingTimers(clock, 30_000)
    const requests: { ids: string[]; status: number }[] = []
    const busyOnce = new Set<string>()
    const server: Fetch = (_input, init) => {
      const body = JSON.parse(new TextDecoder().decode(init?.body as Uint8Array)) as {
        events: Event[]
      }
      const ids = body.events.map((e) => e.id)
      const key = ids.join(',')
      let status = 200
      if (ids.length > 2) status = 413
      else if (!busyOnce.has(key)) {
        busyOnce.add(key)
        status = 503
      }
      requests.push({ ids, status })
      if (status === 413) return Promise.resolve(json(413, TOO_LARGE))
      if (status === 503) return Promise.resolve(json(503, BUSY))
      return Promise.resolve(
        json(200, { stored: ids.length, duplicates: 0, epoch: 'ep', latestVersion: '1' }),
      )
    }
    const transport = createHttpTransport({
      url: BASE,
      fetch: server,
      timers,
      timeoutMs: 30_000,
      random: () => 0.5,
      retry: { retries: 3, initialMs: 100, maxMs: 10_000 },
    })

    // When eight events are pushed
    const outcome = await settle(clock, transport.push(makeEvents(8)))

    // Then the split made three retries in all (one per part for the first three parts, none left
    // for the fourth), each waiting in the next backoff window (50, 100, 200 ms at random 0.5)
    expect(isSyncKitError((outcome as { error: unknown }).error, 'unavailable')).toBe(true)
    expect(requests.map((r) => `${r.ids.join(',')} ${r.status}`)).toEqual([
      'e1,e2,e3,e4,e5,e6,e7,e8 413',
      'e1,e2,e3,e4 413',
      'e1,e2 503',
      'e1,e2 200',
      'e3,e4 503',
      'e3,e4 200',
      'e5,e6,e7,e8 413',
      'e5,e6 503',
      'e5,e6 200',
      'e7,e8 503',
    ])
    expect(waits).toEqual([50, 100, 200])
    await transport.close()
  })

  it('Given an unreachable server, When a call and a subscribe each run out of retries, Then both made retries + 1 attempts at the same times (one retry policy), and subscribe rejects', async () => {
    // Given a server nobody can reach, and a TestClock driving the client's timers
    const clock = new TestClock()
    const attempts: { at: number; path: string }[] = []
    const down: Fetch = (input) => {
      attempts.push({ at: clock.now(), path: new URL(String(input)).pathname })
      return Promise.reject(new TypeError('ECONNREFUSED'))
    }
    const transport = createHttpTransport({
      url: BASE,
      fetch: down,
      clock,
      random: () => 0.5,
      retry: { retries: 3, initialMs: 100, maxMs: 10_000 },
    })

    // When a pull and, afterwards, a subscribe run until they give up
    const pull = await settle(clock, transport.pull(null))
    const pulledAt = clock.now()
    const subscribe = await settle(
      clock,
      transport.subscribe(() => undefined),
    )

    // Then each failed with unavailable after four attempts, 50, 100 and 200 ms apart
    expect(isSyncKitError((pull as { error: unknown }).error, 'unavailable')).toBe(true)
    expect(isSyncKitError((subscribe as { error: unknown }).error, 'unavailable')).toBe(true)
    const times = (path: string, from: number): number[] =>
      attempts.filter((a) => a.path === path).map((a) => a.at - from)
    expect(times('/v1/events', 0)).toEqual([0, 50, 150, 350])
    expect(times('/v1/stream', pulledAt)).toEqual([0, 50, 150, 350])
    await transport.close()
  })
})

describe('renamed client options (regression: old spellings were silently ignored)', () => {
  it('Given the old retry.baseDelayMs / maxDelayMs or top-level setTimeout / clearTimeout, When the transport is created, Then invalid-argument says what to use', () => {
    const url = 'http://127.0.0.1:9'
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ retry: { baseDelayMs: 1 } }, 'baseDelayMs', /use retry\.initialMs/],
      [{ retry: { maxDelayMs: 1 } }, 'maxDelayMs', /use retry\.maxMs/],
      [{ setTimeout: () => 1 }, 'setTimeout', /use timers/],
      [{ clearTimeout: () => undefined }, 'clearTimeout', /use timers/],
    ]
    for (const [extra, argument, message] of cases) {
      expect(() =>
        createHttpTransport({ url, ...extra } as unknown as Parameters<
          typeof createHttpTransport
        >[0]),
      ).toThrow(
        expect.objectContaining({
          code: 'invalid-argument',
          details: { argument },
          message: expect.stringMatching(message),
        }),
      )
    }
  })
})
