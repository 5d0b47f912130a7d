import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../core/backoff.js'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import type { Event, EventMetadata, EventWithVersion } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { createHttpTransport } from './http-transport.js'
import type { HttpTransportOptions } from './http-transport.js'
import { parseRetryAfter } from './retry.js'
import { createSyncHandler } from './sync-handler.js'
import type { SyncHandler, SyncHandlerOptions } from './sync-handler.js'
import { BASE, makeEvent, makeEvents } from './test-helpers.fixture.js'

type Fetch = typeof fetch

/** A server in the same process: the client's fetch calls the handler directly. */
function inProcess(options: Partial<SyncHandlerOptions> = {}): {
  handler: SyncHandler
  fetch: Fetch
  requests: Request[]
} {
  const handler = createSyncHandler({ store: createMemoryStore(), ...options })
  const requests: Request[] = []
  const fetchImpl: Fetch = (input, init) => {
    const request = new Request(input, init)
    requests.push(request.clone())
    return handler(request)
  }
  return { handler, fetch: fetchImpl, requests }
}

/** Instant timers that record the delays asked for, so backoff is checked without waiting. */
function recordingTimers(): {
  delays: number[]
  options: Pick<HttpTransportOptions, 'timers'>
} {
  const delays: number[] = []
  return {
    delays,
    options: {
      timers: {
        setTimeout: (fn, ms) => {
          // Per-attempt timeouts (timeoutMs) are recorded apart from backoff waits by their size.
          if (ms < 1_000_000) delays.push(ms)
          return setTimeout(fn, ms >= 1_000_000 ? ms : 0)
        },
        clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      },
    },
  }
}

function client(fetchImpl: Fetch, options: Partial<HttpTransportOptions> = {}) {
  return createHttpTransport({
    url: BASE,
    fetch: fetchImpl,
    random: () => 0,
    retry: { retries: 3, initialMs: 1, maxMs: 4 },
    ...options,
  })
}

function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
}

function errorBody(code: string, details?: Record<string, string | number>): unknown {
  return {
    error: {
      code,
      message: `[sync-kit] [http-server] ${code} happened`,
      ...(details ? { details } : {}),
    },
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isSyncKitError(error)) {
      expect(error.message).toMatch(/^\[sync-kit\] \[http-client\] /)
      return error.code
    }
    throw error
  }
  throw new Error('expected a rejection')
}

describe('createHttpTransport: against the handler in-process', () => {
  it('Given a server, When pushing, pulling and asking the version, Then results round-trip with versions and the epoch', async () => {
    const { fetch } = inProcess({ epoch: 'ep-1' })
    const transport = client(fetch)
    expect(transport.epoch).toBeUndefined()
    expect(await transport.push(makeEvents(3))).toEqual({ stored: 3, duplicates: 0, epoch: 'ep-1' })
    const page = await transport.pull(null, { limit: 2 })
    expect(page.events.map((e) => [e.event.id, e.version.toString()])).toEqual([
      ['e1', '1'],
      ['e2', '2'],
    ])
    expect(page.hasMore).toBe(true)
    expect(page.epoch).toBe('ep-1')
    const rest = await transport.pull(page.events[1]?.version ?? null)
    expect(rest.events.map((e) => e.event.id)).toEqual(['e3'])
    expect((await transport.latestVersion()).toString()).toBe('3')
    expect(transport.epoch).toBe('ep-1')
    expect(transport.parseVersion('9007199254740993')).toEqual(
      SequenceVersion.parse('9007199254740993'),
    )
    await transport.close()
  })

  it('Given a headers callback, When calls are made, Then it runs per request and a failure is unauthorized', async () => {
    let token = 'one'
    const seen: string[] = []
    const { fetch } = inProcess({
      authorize: (request) => {
        seen.push(request.headers.get('authorization') ?? '')
        return Promise.resolve({})
      },
    })
    const transport = client(fetch, { headers: () => ({ authorization: `Bearer ${token}` }) })
    await transport.latestVersion()
    token = 'two'
    await transport.latestVersion()
    expect(seen).toEqual(['Bearer one', 'Bearer two'])
    const failing = client(fetch, { headers: () => Promise.reject(new Error('refresh failed')) })
    expect(await codeOf(failing.latestVersion())).toBe('unauthorized')
  })

  it('Given a body over gzipThresholdBytes, When pushing, Then it is sent gzip-compressed and stored', async () => {
    const { fetch, requests, handler } = inProcess()
    const transport = client(fetch, { gzipThresholdBytes: 200 })
    await transport.push([makeEvent('small')])
    expect(requests[0]?.headers.get('content-encoding')).toBeNull()
    const big = makeEvents(20, 'big')
    expect(await transport.push(big)).toMatchObject({ stored: 20 })
    const request = requests[1]
    expect(request?.headers.get('content-encoding')).toBe('gzip')
    const compressed = new Uint8Array(await (request as Request).arrayBuffer())
    expect(compressed.byteLength).toBeLessThan(JSON.stringify({ events: big }).length)
    void handler
  })

  it("Given a batch over the server's body or batch limit, When pushing, Then it is split into parts that fit, all in one epoch, and every event is stored once", async () => {
    // Regression: the 413 failed the push, so a SyncManager whose outbox batch (500 events of
    // ~20 KB that gzip cannot shrink) exceeded the server's 4 MiB never pushed anything again.
    const { fetch } = inProcess({ maxBodyBytes: 2_000, maxBatchEvents: 8 })
    const accepted: { events: unknown[]; ifEpoch?: string }[] = []
    const recording: Fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (init?.method === 'POST' && response.ok) {
        const text = new TextDecoder().decode(init.body as Uint8Array)
        accepted.push(JSON.parse(text) as { events: unknown[]; ifEpoch?: string })
      }
      return response
    }
    const transport = client(recording, { gzipThresholdBytes: Infinity })
    const events = makeEvents(30, 'part-')

    const result = await transport.push(events)

    expect(result).toMatchObject({ stored: 30, duplicates: 0 })
    const pulled = await transport.pull(null, { limit: 100 })
    expect(pulled.events.map((e) => e.event.id)).toEqual(events.map((e) => e.id))
    expect(accepted.length).toBeGreaterThan(3)
    expect(accepted.flatMap((b) => b.events)).toEqual(events)
    // Every part after the first is conditioned on the epoch the first one was stored in.
    expect(accepted.slice(1).map((b) => b.ifEpoch)).toEqual(
      accepted.slice(1).map(() => result.epoch),
    )
    // And pushing it again is all duplicates.
    expect(await transport.push(events)).toMatchObject({ stored: 0, duplicates: 30 })
  })

  it("Given one event over the server's body limit, When pushing, Then payload-too-large (it cannot be split)", async () => {
    const { fetch } = inProcess({ maxBodyBytes: 2_000 })
    const transport = client(fetch, { gzipThresholdBytes: Infinity })
    const huge = makeEvent('huge', { data: 'x'.repeat(3_000) })

    expect(await codeOf(transport.push([huge]))).toBe('payload-too-large')
    expect(await codeOf(transport.push([makeEvent('small'), huge]))).toBe('payload-too-large')
    // The part that fits was stored; retrying the batch makes it a duplicate, not a conflict.
    expect((await transport.pull(null)).events.map((e) => e.event.id)).toEqual(['small'])
  })

  it('Given an invalid event, When pushing, Then invalid-event before any request is sent', async () => {
    const { fetch, requests } = inProcess()
    const transport = client(fetch)
    expect(await codeOf(transport.push([makeEvent('a', { data: Number.NaN })]))).toBe(
      'invalid-event',
    )
    expect(requests).toHaveLength(0)
  })
})

describe('createHttpTransport: retries', () => {
  it('Given a network that fails twice, When pushing, Then it retries with backoff and stores each event once', async () => {
    const { fetch, handler } = inProcess()
    let failures = 2
    let calls = 0
    const flaky: Fetch = (input, init) => {
      calls++
      if (failures-- > 0) return Promise.reject(new TypeError('fetch failed'))
      return fetch(input, init)
    }
    const transport = client(flaky)
    expect(await transport.push(makeEvents(2))).toMatchObject({ stored: 2 })
    expect(calls).toBe(3)
    const version = await handler(new Request(`${BASE}/v1/version`))
    expect(await version.json()).toMatchObject({ latestVersion: '2' })
  })

  it('Given an acknowledgement lost after storing, When the push is retried, Then the events count as duplicates', async () => {
    const { fetch } = inProcess()
    let lose = true
    const losing: Fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (lose) {
        lose = false
        throw new TypeError('connection reset after the server answered')
      }
      return response
    }
    const transport = client(losing)
    expect(await transport.push(makeEvents(2))).toMatchObject({ stored: 0, duplicates: 2 })
  })

  it('Given only failures, When retries run out, Then unavailable after retries + 1 attempts', async () => {
    let calls = 0
    const down: Fetch = () => {
      calls++
      return Promise.resolve(jsonResponse(503, errorBody('unavailable')))
    }
    expect(await codeOf(client(down).latestVersion())).toBe('unavailable')
    expect(calls).toBe(4)
  })

  it('Given transient statuses 408, 425, 429, 500, 502, 504, When answered once, Then the call is retried', async () => {
    for (const status of [408, 425, 429, 500, 502, 504]) {
      let calls = 0
      const { fetch } = inProcess()
      const once: Fetch = (input, init) => {
        calls++
        return calls === 1 ? Promise.resolve(new Response('busy', { status })) : fetch(input, init)
      }
      expect((await client(once).latestVersion()).toString()).toBe('0')
      expect(calls).toBe(2)
    }
  })

  it('Given a 4xx answer, When calling, Then it is not retried and maps to its code', async () => {
    const cases: [number, unknown, string][] = [
      [400, errorBody('protocol'), 'protocol'],
      [400, errorBody('version-parse', { value: 'x' }), 'version-parse'],
      [400, errorBody('unsupported-filter', { key: 'colour' }), 'unsupported-filter'],
      [400, 'not json', 'protocol'],
      [401, errorBody('unauthorized'), 'unauthorized'],
      [403, errorBody('forbidden'), 'forbidden'],
      [404, errorBody('protocol'), 'protocol'],
      [409, errorBody('event-id-conflict', { eventId: 'e1' }), 'event-id-conflict'],
      [413, errorBody('payload-too-large', { limitBytes: 10 }), 'payload-too-large'],
      [415, errorBody('protocol'), 'protocol'],
      [422, errorBody('invalid-event', { eventId: 'e1', field: 'data' }), 'invalid-event'],
    ]
    for (const [status, body, code] of cases) {
      let calls = 0
      const answer: Fetch = () => {
        calls++
        return Promise.resolve(
          typeof body === 'string' ? new Response(body, { status }) : jsonResponse(status, body),
        )
      }
      let error: unknown
      try {
        await client(answer).push([makeEvent('e1')])
      } catch (e) {
        error = e
      }
      expect(isSyncKitError(error, code as never), `${status} → ${code}`).toBe(true)
      expect(calls, `${status} is not retried`).toBe(1)
      if (code === 'event-id-conflict' && isSyncKitError(error, 'event-id-conflict')) {
        expect(error.details.eventId).toBe('e1')
      }
      if (code === 'payload-too-large' && isSyncKitError(error, 'payload-too-large')) {
        expect(error.details.limitBytes).toBe(10)
      }
    }
  })

  it('Given Retry-After, When retrying, Then the wait is at least what the server asked; too long fails at once', async () => {
    const timers = recordingTimers()
    let calls = 0
    const { fetch } = inProcess()
    const limited: Fetch = (input, init) => {
      calls++
      if (calls === 1)
        return Promise.resolve(jsonResponse(429, errorBody('unavailable'), { 'retry-after': '2' }))
      return fetch(input, init)
    }
    await client(limited, { ...timers.options }).latestVersion()
    expect(timers.delays).toContain(2000)

    let slowCalls = 0
    const tooLong: Fetch = () => {
      slowCalls++
      return Promise.resolve(jsonResponse(503, errorBody('unavailable'), { 'retry-after': '3600' }))
    }
    expect(await codeOf(client(tooLong, timers.options).latestVersion())).toBe('unavailable')
    expect(slowCalls).toBe(1)
  })

  it('Given full jitter, When computing waits, Then each is below base·2^attempt capped at maxDelayMs', () => {
    // Retry n (1 for the first) waits below min(maxMs, initialMs·2^(n−1)): base·2^attempt with
    // attempt = n − 1.
    const policy = { initialMs: 100, maxMs: 1000 }
    expect([1, 2, 3, 4, 5, 41].map((n) => backoffDelay(n, policy, () => 0.999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ])
    expect(backoffDelay(4, policy, () => 0)).toBe(0)
    const clock = { now: () => Date.parse('2030-01-01T00:00:00Z') }
    expect(parseRetryAfter('7', clock)).toBe(7000)
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:05 GMT', clock)).toBe(5000)
    expect(parseRetryAfter('soon', clock)).toBeUndefined()
    expect(parseRetryAfter(null, clock)).toBeUndefined()
  })

  it('Given backoff waits, When a call retries, Then the delays grow within the jitter windows', async () => {
    const timers = recordingTimers()
    const down: Fetch = () => Promise.reject(new TypeError('offline'))
    const transport = createHttpTransport({
      url: BASE,
      fetch: down,
      random: () => 0.5,
      retry: { retries: 4, initialMs: 100, maxMs: 300 },
      ...timers.options,
    })
    expect(await codeOf(transport.latestVersion())).toBe('unavailable')
    const backoffs = timers.delays.filter((ms) => ms !== 30_000)
    expect(backoffs).toEqual([50, 100, 150, 150])
  })
})

describe('createHttpTransport: timeouts, abort and close', () => {
  const hanging: Fetch = (_input, init) =>
    new Promise((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () =>
        reject(new DOMException('aborted', 'AbortError')),
      )
    })

  it('Given a server that never answers, When timeoutMs passes, Then timeout (retried first)', async () => {
    let calls = 0
    const counting: Fetch = (input, init) => {
      calls++
      return hanging(input, init)
    }
    const transport = client(counting, { timeoutMs: 20, retry: { retries: 1, initialMs: 1 } })
    expect(await codeOf(transport.pull(null))).toBe('timeout')
    expect(calls).toBe(2)
  })

  it('Given a headers callback that never settles, When the call times out, is aborted or the transport closes, Then it settles (timeout, aborted, transport-closed)', async () => {
    // Regression: the callback was awaited outside the attempt's timeout and signal, so a token
    // refresh stuck on a dead auth server hung push, pull and subscribe (and unsubscribe) forever.
    const { fetch } = inProcess()
    const stuck = { headers: () => new Promise<Record<string, string>>(() => undefined) }
    const timingOut = client(fetch, {
      ...stuck,
      timeoutMs: 20,
      retry: { retries: 1, initialMs: 1 },
    })
    expect(await codeOf(timingOut.latestVersion())).toBe('timeout')
    expect(await codeOf(timingOut.subscribe(() => undefined))).toBe('timeout')

    const aborting = client(fetch, { ...stuck, timeoutMs: 60_000 })
    const controller = new AbortController()
    const pending = codeOf(aborting.push([makeEvent('e1')], { signal: controller.signal }))
    controller.abort()
    expect(await pending).toBe('aborted')

    const closing = client(fetch, { ...stuck, timeoutMs: 60_000 })
    const pull = codeOf(closing.pull(null))
    const subscribe = codeOf(closing.subscribe(() => undefined))
    await closing.close()
    expect(await pull).toBe('transport-closed')
    expect(await subscribe).toBe('transport-closed')
  })

  it('Given a signal, When aborted mid-request or before, Then aborted and no retry', async () => {
    let calls = 0
    const counting: Fetch = (input, init) => {
      calls++
      return hanging(input, init)
    }
    const transport = client(counting)
    const controller = new AbortController()
    const pending = transport.push([makeEvent('e1')], { signal: controller.signal })
    setTimeout(() => controller.abort(), 5)
    expect(await codeOf(pending)).toBe('aborted')
    expect(calls).toBe(1)
    expect(await codeOf(transport.pull(null, { signal: AbortSignal.abort() }))).toBe('aborted')
    expect(calls).toBe(1)
  })

  it('Given an in-flight call, When the transport closes, Then it rejects transport-closed, as do later calls', async () => {
    const transport = client(hanging)
    const pending = transport.latestVersion()
    await transport.close()
    expect(await codeOf(pending)).toBe('transport-closed')
    expect(await codeOf(transport.push([]))).toBe('transport-closed')
    await transport.close()
  })

  it('Given a non-sync-kit server, When answered with HTML or a wrong shape, Then protocol', async () => {
    const html: Fetch = () =>
      Promise.resolve(new Response('<html>proxy login</html>', { status: 200 }))
    expect(await codeOf(client(html).latestVersion())).toBe('protocol')
    const shape: Fetch = () => Promise.resolve(jsonResponse(200, { latestVersion: 5, epoch: 'x' }))
    expect(await codeOf(client(shape).latestVersion())).toBe('protocol')
    const version: Fetch = () =>
      Promise.resolve(jsonResponse(200, { latestVersion: 'v5', epoch: 'x' }))
    expect(await codeOf(client(version).latestVersion())).toBe('protocol')
  })

  it('Given bad options or arguments, When creating or calling, Then invalid-argument', async () => {
    for (const url of ['not a url', 'ftp://x', 'http://x/?a=1']) {
      expect(() => createHttpTransport({ url })).toThrow(
        expect.objectContaining({ code: 'invalid-argument' }) as Error,
      )
    }
    expect(() => createHttpTransport({ url: BASE, timeoutMs: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }) as Error,
    )
    const { fetch } = inProcess()
    expect(await codeOf(client(fetch).pull(null, { limit: 0 }))).toBe('invalid-argument')
    expect(
      await codeOf(client(fetch).pull(null, { filters: [{ key: 'limit', value: '1' }] })),
    ).toBe('unsupported-filter')
  })
})

/** Wraps a fetch so the test can cut every open stream, as a dropped connection would. */
function killableStreams(inner: Fetch): {
  fetch: Fetch
  kill: () => void
  lastEventIds: (string | null)[]
} {
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>()
  const lastEventIds: (string | null)[] = []
  const wrapped: Fetch = async (input, init) => {
    const request = new Request(input, init)
    const response = await inner(request)
    if (!request.url.includes('/v1/stream') || response.body === null) return response
    lastEventIds.push(request.headers.get('last-event-id'))
    const reader = response.body.getReader()
    let ref: ReadableStreamDefaultController<Uint8Array> | undefined
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        ref = controller
        open.add(controller)
      },
      async pull(controller) {
        const { done, value } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      cancel() {
        if (ref) open.delete(ref)
        return reader.cancel()
      },
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
  return {
    fetch: wrapped,
    lastEventIds,
    kill: () => {
      for (const controller of open) {
        try {
          controller.error(new TypeError('network connection lost'))
        } catch {
          // already closed
        }
      }
      open.clear()
    },
  }
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('createHttpTransport: subscribe', () => {
  it('Given a live stream, When the connection drops mid-stream, Then it reconnects with Last-Event-ID and nothing is lost or repeated', async () => {
    const server = inProcess()
    const net = killableStreams(server.fetch)
    const transport = client(net.fetch)
    const pusher = client(server.fetch)
    const received: EventWithVersion[] = []
    const errors: unknown[] = []
    const sub = await transport.subscribe(
      (batch) => {
        received.push(...batch)
      },
      { since: null, onError: (e) => errors.push(e) },
    )
    await pusher.push(makeEvents(3, 'a'))
    await waitFor(() => received.length === 3, 'the first events')
    net.kill()
    // Pushed while the client is disconnected: must arrive after the reconnect.
    await pusher.push(makeEvents(3, 'b'))
    await waitFor(() => received.length === 6, 'the events after the reconnect')
    await pusher.push(makeEvents(2, 'c'))
    await waitFor(() => received.length === 8, 'live events after the reconnect')
    expect(received.map((e) => e.event.id)).toEqual([
      'a1',
      'a2',
      'a3',
      'b1',
      'b2',
      'b3',
      'c1',
      'c2',
    ])
    expect(received.map((e) => e.version.toString())).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
    ])
    expect(net.lastEventIds[0]).toBeNull()
    expect(net.lastEventIds[1]).toBe('3')
    expect(errors.some((e) => isSyncKitError(e, 'unavailable'))).toBe(true)
    await sub.unsubscribe()
    await transport.close()
  })

  it('Given metadata keys named constructor, prototype and __proto__, When pushed, pulled and streamed, Then every copy keeps them (the server stores exactly what was sent)', async () => {
    // Regression: the wire schemas read metadata with valibot's record(), which drops these keys,
    // so the server stored (and the client received) a different event under the same id.
    const metadata = JSON.parse(
      '{"constructor":"c","prototype":"p","__proto__":{"tenant":"t"},"tenant":"own"}',
    ) as EventMetadata
    const event: Event = { id: 'e1', type: 'Noted', aggregateId: 'a1', data: { n: 1 }, metadata }
    const store = createMemoryStore()
    const handler = createSyncHandler({ store })
    const transport = client((input, init) => handler(new Request(input, init)))

    expect(await transport.push([event])).toMatchObject({ stored: 1, duplicates: 0 })
    const streamed: unknown[] = []
    const sub = await transport.subscribe((batch) => void streamed.push(...batch), {
      since: SequenceVersion.parse('0'),
    })
    const pulled = await transport.pull(null)
    await waitFor(() => streamed.length === 1, 'the streamed event')
    await sub.unsubscribe()

    const stored = (await store.load(null))[0]?.event
    for (const copy of [stored, pulled.events[0]?.event, (streamed[0] as EventWithVersion).event]) {
      expect(Object.keys(copy?.metadata ?? {})).toEqual(Object.keys(metadata))
      expect(JSON.stringify(copy)).toBe(JSON.stringify(event))
    }
    expect(await transport.push([event])).toMatchObject({ stored: 0, duplicates: 1 })
    await transport.close()
  })

  it('Given since, When subscribing, Then the backlog after it arrives first, then live events', async () => {
    const server = inProcess()
    const transport = client(server.fetch)
    await transport.push(makeEvents(4))
    const received: string[] = []
    const sub = await transport.subscribe(
      (batch) => {
        received.push(...batch.map((e) => e.event.id))
      },
      { since: SequenceVersion.parse('2') },
    )
    await transport.push([makeEvent('e5')])
    await waitFor(() => received.length === 3, 'backlog and live')
    expect(received).toEqual(['e3', 'e4', 'e5'])
    await sub.unsubscribe()
  })

  it('Given a slow handler, When batches arrive, Then each is awaited before the next (no overlap)', async () => {
    const server = inProcess()
    const transport = client(server.fetch)
    let running = 0
    let maxRunning = 0
    let total = 0
    const sub = await transport.subscribe(async (batch) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      total += batch.length
      running--
    })
    for (let i = 0; i < 5; i++) await transport.push([makeEvent(`s${i}`)])
    await waitFor(() => total === 5, 'all batches')
    expect(maxRunning).toBe(1)
    await sub.unsubscribe()
  })

  it('Given a server whose epoch changes, When reconnecting, Then onError gets protocol and the subscription ends', async () => {
    let epoch = 'first'
    const handlers = { current: createSyncHandler({ store: createMemoryStore(), epoch }) }
    const net = killableStreams((input, init) => handlers.current(new Request(input, init)))
    const transport = client(net.fetch)
    const errors: unknown[] = []
    const received: string[] = []
    await transport.subscribe((batch) => void received.push(...batch.map((e) => e.event.id)), {
      onError: (e) => errors.push(e),
    })
    epoch = 'second'
    handlers.current = createSyncHandler({ store: createMemoryStore(), epoch })
    net.kill()
    await waitFor(() => errors.some((e) => isSyncKitError(e, 'protocol')), 'the epoch error')
    const reconnects = net.lastEventIds.length
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(net.lastEventIds.length).toBe(reconnects)
  })

  it('Given a handler that throws, When a batch arrives, Then onError gets that error and delivery stops', async () => {
    const server = inProcess()
    const transport = client(server.fetch)
    const failure = new Error('handler broke')
    const errors: unknown[] = []
    let calls = 0
    await transport.subscribe(
      () => {
        calls++
        throw failure
      },
      { onError: (e) => errors.push(e) },
    )
    await transport.push([makeEvent('x1')])
    await waitFor(() => errors.length > 0, 'the handler error')
    expect(errors).toEqual([failure])
    await transport.push([makeEvent('x2')])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toBe(1)
  })

  it('Given refused credentials, When subscribing, Then subscribe rejects with unauthorized without retrying', async () => {
    let calls = 0
    const refuse: Fetch = () => {
      calls++
      return Promise.resolve(jsonResponse(401, errorBody('unauthorized')))
    }
    expect(await codeOf(client(refuse).subscribe(() => undefined))).toBe('unauthorized')
    expect(calls).toBe(1)
  })

  it('Given an unreachable server, When subscribing, Then it retries, then rejects with unavailable', async () => {
    let calls = 0
    const down: Fetch = () => {
      calls++
      return Promise.reject(new TypeError('ECONNREFUSED'))
    }
    expect(await codeOf(client(down).subscribe(() => undefined))).toBe('unavailable')
    expect(calls).toBe(4)
  })

  it('Given a stream that goes silent, When streamIdleTimeoutMs passes, Then the client reconnects', async () => {
    // hello, then nothing at all: no events, no heartbeats.
    let connections = 0
    const silent: Fetch = () => {
      connections++
      const hello = `event: hello\ndata: ${JSON.stringify({ epoch: 'e', latestVersion: '0', cursor: '0' })}\n\n`
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(hello))
        },
      })
      return Promise.resolve(
        new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
      )
    }
    const errors: unknown[] = []
    const transport = client(silent, { streamIdleTimeoutMs: 20 })
    const sub = await transport.subscribe(() => undefined, { onError: (e) => errors.push(e) })
    await waitFor(() => connections >= 3, 'reconnects')
    expect(errors.some((e) => isSyncKitError(e, 'timeout'))).toBe(true)
    await sub.unsubscribe()
  })

  it('Given a subscription, When unsubscribed or its signal aborts or the transport closes, Then delivery stops', async () => {
    const server = inProcess()
    const transport = client(server.fetch)
    const counts = { a: 0, b: 0, c: 0 }
    const a = await transport.subscribe((batch) => void (counts.a += batch.length))
    const controller = new AbortController()
    await transport.subscribe((batch) => void (counts.b += batch.length), {
      signal: controller.signal,
    })
    await transport.subscribe((batch) => void (counts.c += batch.length))
    await transport.push([makeEvent('one')])
    await waitFor(() => counts.a === 1 && counts.b === 1 && counts.c === 1, 'first delivery')
    await a.unsubscribe()
    controller.abort()
    await transport.push([makeEvent('two')])
    await waitFor(() => counts.c === 2, 'the remaining subscription')
    await transport.close()
    await client(server.fetch).push([makeEvent('three')])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(counts).toEqual({ a: 1, b: 1, c: 2 })
    expect(await codeOf(transport.subscribe(() => undefined))).toBe('transport-closed')
  })
})
