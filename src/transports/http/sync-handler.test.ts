import { describe, expect, it } from 'vitest'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import type { MemoryStore } from '../../stores/memory/index.js'
import type { Checkpoint, CheckpointKey, EventStore } from '../../types/index.js'
import type { SyncLogEntry } from './logger.js'
import { createJsonLineLogger } from './logger.js'
import { SERVER_EPOCH_CHECKPOINT_REMOTE } from './protocol.js'
import { createSyncHandler } from './sync-handler.js'
import type { SyncHandlerOptions } from './sync-handler.js'
import {
  BASE,
  SseReader,
  get,
  gzip,
  makeEvent,
  makeEvents,
  pushEvents,
  pushRequest,
  wrapStore,
} from './test-helpers.fixture.js'

function setup(options: Partial<SyncHandlerOptions<{ tenant?: string }>> = {}): {
  store: MemoryStore
  handler: ReturnType<typeof createSyncHandler>
} {
  const store = createMemoryStore()
  const handler = createSyncHandler({ store, ...options })
  return { store, handler }
}

async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await response.json()) as {
    error: { code: string; message: string; details?: Record<string, unknown> }
  }
  expect(body.error.code).toBe(code)
  expect(body.error.message).toMatch(/^\[sync-kit\] \[[a-z-]+\] /)
  return body.error
}

describe('createSyncHandler: routes', () => {
  it('Given any path outside /v1, When requested, Then 404 with the error body', async () => {
    const { handler } = setup()
    await expectError(await handler(get('/nope')), 404, 'protocol')
    await expectError(await handler(get('/v1/nope')), 404, 'protocol')
    await expectError(await handler(get('/v1/events/')), 404, 'protocol')
  })

  it('Given a known route, When called with the wrong method, Then 405 with Allow', async () => {
    const { handler } = setup()
    const response = await handler(new Request(`${BASE}/v1/version`, { method: 'DELETE' }))
    expect(response.headers.get('allow')).toBe('GET')
    await expectError(response, 405, 'protocol')
    const put = await handler(new Request(`${BASE}/v1/events`, { method: 'PUT', body: '{}' }))
    expect(put.headers.get('allow')).toBe('GET, POST')
    await expectError(put, 405, 'protocol')
  })

  it('Given basePath /sync, When routes are called, Then they live under /sync/v1 only', async () => {
    const { handler } = setup({ basePath: '/sync' })
    expect((await handler(get('/sync/v1/health'))).status).toBe(200)
    expect((await handler(get('/v1/health'))).status).toBe(404)
  })

  it('Given a bad basePath or limit option, When creating the handler, Then invalid-argument', () => {
    const store = createMemoryStore()
    for (const bad of [
      { basePath: 'sync' },
      { basePath: '/sync/' },
      { maxBodyBytes: 0 },
      { heartbeatMs: 1.5 },
    ]) {
      expect(() => createSyncHandler({ store, ...bad })).toThrow(
        expect.objectContaining({ code: 'invalid-argument' }) as Error,
      )
    }
  })

  it('Given an authorizer, When /health is called, Then it answers without auth', async () => {
    const { handler } = setup({
      authorize: () => Promise.reject(new SyncKitError('unauthorized', 'no token', {})),
    })
    const response = await handler(get('/v1/health'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })
})

describe('createSyncHandler: push, pull, version', () => {
  it('Given events, When pushed and pulled, Then versions are strings and pages are exact', async () => {
    const { handler } = setup()
    const pushed = await handler(pushEvents(makeEvents(5)))
    expect(pushed.status).toBe(200)
    const result = (await pushed.json()) as Record<string, unknown>
    expect(result).toMatchObject({ stored: 5, duplicates: 0, latestVersion: '5' })
    expect(typeof result['epoch']).toBe('string')

    const page1 = (await (await handler(get('/v1/events?limit=2'))).json()) as {
      events: { event: { id: string }; version: string }[]
      hasMore: boolean
      nextSince: string
    }
    expect(page1.events.map((e) => [e.event.id, e.version])).toEqual([
      ['e1', '1'],
      ['e2', '2'],
    ])
    expect(page1.hasMore).toBe(true)
    expect(page1.nextSince).toBe('2')
    const page2 = (await (await handler(get('/v1/events?since=2&limit=10'))).json()) as {
      events: unknown[]
      hasMore: boolean
    }
    expect(page2.events).toHaveLength(3)
    expect(page2.hasMore).toBe(false)
    const version = (await (await handler(get('/v1/version'))).json()) as Record<string, unknown>
    expect(version).toEqual({ latestVersion: '5', epoch: result['epoch'] })
  })

  it('Given a push retried after a lost answer, When it arrives again, Then each event is stored once', async () => {
    const { handler, store } = setup()
    await handler(pushEvents(makeEvents(3)))
    const again = (await (await handler(pushEvents(makeEvents(4)))).json()) as Record<
      string,
      unknown
    >
    expect(again).toMatchObject({ stored: 1, duplicates: 3 })
    expect(store.size).toBe(4)
  })

  it('Given a stored event, When another event reuses its id, Then 409 and nothing from the push is stored', async () => {
    const { handler, store } = setup()
    await handler(pushEvents([makeEvent('e1')]))
    const error = await expectError(
      await handler(pushEvents([makeEvent('e2'), makeEvent('e1', { data: { other: true } })])),
      409,
      'event-id-conflict',
    )
    expect(error.details).toEqual({ eventId: 'e1' })
    expect(store.size).toBe(1)
  })

  it('Given a batch with one invalid event, When pushed, Then 422 naming it and nothing stored', async () => {
    const { handler, store } = setup()
    const error = await expectError(
      await handler(pushEvents([makeEvent('ok'), { id: 'bad', type: 'T', aggregateId: 'a' }])),
      422,
      'invalid-event',
    )
    expect(error.details).toMatchObject({ eventId: 'bad', field: 'data' })
    expect(error.message).toContain('events[1]')
    await expectError(
      await handler(pushEvents([makeEvent('x', { data: { n: 1 }, extra: 1 } as never)])),
      422,
      'invalid-event',
    )
    expect(store.size).toBe(0)
  })

  it('Given more events than maxBatchEvents, When pushed, Then 413 and nothing stored', async () => {
    const { handler, store } = setup({ maxBatchEvents: 3 })
    await expectError(await handler(pushEvents(makeEvents(4))), 413, 'payload-too-large')
    expect(store.size).toBe(0)
  })

  it('Given bad query parameters, When pulling, Then 400 with the matching code', async () => {
    const { handler } = setup()
    await expectError(await handler(get('/v1/events?since=abc')), 400, 'version-parse')
    await expectError(await handler(get('/v1/events?since=-1')), 400, 'version-parse')
    for (const limit of ['0', '-5', '1.5', 'ten', '', '99999999999']) {
      await expectError(await handler(get(`/v1/events?limit=${limit}`)), 400, 'invalid-argument')
    }
    await expectError(await handler(get('/v1/events?limit=1&limit=2')), 400, 'invalid-argument')
    await expectError(await handler(get('/v1/events?colour=red')), 400, 'unsupported-filter')
  })

  it('Given a limit above maxPageLimit, When pulling, Then the page is clamped and hasMore is true', async () => {
    const { handler } = setup({ maxPageLimit: 3 })
    await handler(pushEvents(makeEvents(5)))
    const page = (await (await handler(get('/v1/events?limit=100'))).json()) as {
      events: unknown[]
      hasMore: boolean
    }
    expect(page.events).toHaveLength(3)
    expect(page.hasMore).toBe(true)
  })

  it('Given filters, When pulling, Then same keys are OR-ed and different keys AND-ed', async () => {
    const { handler } = setup()
    await handler(
      pushEvents([
        makeEvent('a', { type: 'A', aggregateId: 'x' }),
        makeEvent('b', { type: 'B', aggregateId: 'x' }),
        makeEvent('c', { type: 'C', aggregateId: 'x' }),
        makeEvent('d', { type: 'A', aggregateId: 'y' }),
      ]),
    )
    const page = (await (await handler(get('/v1/events?type=A&type=B&aggregate_id=x'))).json()) as {
      events: { event: { id: string } }[]
    }
    expect(page.events.map((e) => e.event.id)).toEqual(['a', 'b'])
  })
})

describe('createSyncHandler: request bodies', () => {
  it('Given a wrong or missing content type or encoding, When pushing, Then 415', async () => {
    const { handler, store } = setup()
    const body = JSON.stringify({ events: [makeEvent('e1')] })
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/json; charset=latin1' },
      { 'content-encoding': 'br' },
      { 'content-encoding': 'gzip, gzip' },
    ]) {
      await expectError(await handler(pushRequest(body, headers)), 415, 'protocol')
    }
    const noType = new Request(`${BASE}/v1/events`, {
      method: 'POST',
      body: new Uint8Array([123, 125]),
    })
    await expectError(await handler(noType), 415, 'protocol')
    expect(store.size).toBe(0)
  })

  it('Given malformed JSON, invalid UTF-8 or the wrong envelope, When pushing, Then 400', async () => {
    const { handler, store } = setup()
    await expectError(await handler(pushRequest('{"events": [')), 400, 'protocol')
    await expectError(
      await handler(pushRequest(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))),
      400,
      'protocol',
    )
    await expectError(await handler(pushRequest('[]')), 400, 'protocol')
    await expectError(await handler(pushRequest('{"events": {"0": {}}}')), 400, 'protocol')
    await expectError(await handler(pushRequest('')), 400, 'protocol')
    const deep = `{"events":[{"id":"d","type":"T","aggregateId":"a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`
    await expectError(await handler(pushRequest(deep)), 400, 'protocol')
    expect(store.size).toBe(0)
  })

  it('Given a Content-Length over maxBodyBytes, When pushing, Then 413 before reading the body', async () => {
    const { handler } = setup({ maxBodyBytes: 100 })
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(10))
      },
    })
    const response = await handler(pushRequest(body, { 'content-length': '1000' }))
    await expectError(response, 413, 'payload-too-large')
    expect(pulled).toBeLessThanOrEqual(1)
  })

  it('Given an endless body without Content-Length, When pushing, Then 413 once the limit is passed and the stream is cancelled', async () => {
    const { handler, store } = setup({ maxBodyBytes: 64 * 1024 })
    let sent = 0
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 4096
        controller.enqueue(new Uint8Array(4096).fill(0x20))
      },
      cancel() {
        cancelled = true
      },
    })
    const error = await expectError(await handler(pushRequest(body)), 413, 'payload-too-large')
    expect(error.details).toEqual({ limitBytes: 64 * 1024 })
    expect(cancelled).toBe(true)
    // Read at most the limit plus the chunks already queued, not the endless rest.
    expect(sent).toBeLessThan(64 * 1024 + 16 * 4096)
    expect(store.size).toBe(0)
  })

  it('Given a gzip body, When pushing, Then it is decompressed and stored', async () => {
    const { handler, store } = setup()
    const body = await gzip(JSON.stringify({ events: makeEvents(50) }))
    const response = await handler(pushRequest(body, { 'content-encoding': 'gzip' }))
    expect(response.status).toBe(200)
    expect(store.size).toBe(50)
  })

  it('Given a gzip bomb, When pushing, Then 413 after maxDecompressedBytes and nothing stored', async () => {
    const { handler, store } = setup({
      maxBodyBytes: 1024 * 1024,
      maxDecompressedBytes: 256 * 1024,
    })
    // 16 MiB of spaces compresses to ~16 KiB: well under the wire limit, far over the inflated one.
    const bomb = await gzip(new Uint8Array(16 * 1024 * 1024).fill(0x20))
    expect(bomb.byteLength).toBeLessThan(1024 * 1024)
    const error = await expectError(
      await handler(pushRequest(bomb, { 'content-encoding': 'gzip' })),
      413,
      'payload-too-large',
    )
    expect(error.details).toEqual({ limitBytes: 256 * 1024 })
    expect(store.size).toBe(0)
  })

  it('Given gzip garbage, When pushing, Then 400', async () => {
    const { handler } = setup()
    const garbage = new TextEncoder().encode('definitely not gzip')
    await expectError(
      await handler(pushRequest(garbage, { 'content-encoding': 'gzip' })),
      400,
      'protocol',
    )
    const valid = await gzip('{"events":[]}')
    await expectError(
      await handler(pushRequest(valid.slice(0, valid.length - 6), { 'content-encoding': 'gzip' })),
      400,
      'protocol',
    )
  })
})

describe('createSyncHandler: auth and tenants', () => {
  const principals: Record<string, { tenant?: string }> = {
    'Bearer acme': { tenant: 'acme' },
    'Bearer globex': { tenant: 'globex' },
    'Bearer admin': {},
  }
  const auth = {
    authorize: (request: Request): Promise<{ tenant?: string }> => {
      const principal = principals[request.headers.get('authorization') ?? '']
      if (principal === undefined) {
        return Promise.reject(new SyncKitError('unauthorized', 'unknown token', {}))
      }
      if (request.headers.get('x-blocked') !== null) {
        return Promise.reject(new SyncKitError('forbidden', 'blocked', {}))
      }
      return Promise.resolve(principal)
    },
    tenantOf: (principal: { tenant?: string }) => principal.tenant,
  }
  const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

  it('Given an authorizer, When it refuses, Then 401 or 403 and nothing stored', async () => {
    const { handler, store } = setup(auth)
    await expectError(await handler(pushEvents([makeEvent('e1')])), 401, 'unauthorized')
    await expectError(
      await handler(pushEvents([makeEvent('e1')], { ...as('acme'), 'x-blocked': '1' })),
      403,
      'forbidden',
    )
    await expectError(await handler(get('/v1/events')), 401, 'unauthorized')
    await expectError(await handler(get('/v1/stream')), 401, 'unauthorized')
    expect(store.size).toBe(0)
  })

  it('Given two tenants, When each pushes and pulls, Then each sees only its own events, stamped with its tenant', async () => {
    const { handler } = setup(auth)
    await handler(pushEvents([makeEvent('a1'), makeEvent('a2')], as('acme')))
    await handler(pushEvents([makeEvent('g1')], as('globex')))
    const acme = (await (await handler(get('/v1/events', as('acme')))).json()) as {
      events: { event: { id: string; metadata?: { tenant?: string } } }[]
    }
    expect(acme.events.map((e) => [e.event.id, e.event.metadata?.tenant])).toEqual([
      ['a1', 'acme'],
      ['a2', 'acme'],
    ])
    // A tenant filter naming another tenant is refused rather than widened (filters on one key OR).
    await expectError(await handler(get('/v1/events?tenant=globex', as('acme'))), 403, 'forbidden')
    const own = (await (await handler(get('/v1/events?tenant=acme', as('acme')))).json()) as {
      events: unknown[]
    }
    expect(own.events).toHaveLength(2)
    // An unscoped principal (tenantOf → undefined) sees everything.
    const all = (await (await handler(get('/v1/events', as('admin')))).json()) as {
      events: unknown[]
    }
    expect(all.events).toHaveLength(3)
  })

  it('Given a tenant, When it pushes an event naming another tenant, Then 403 and nothing stored', async () => {
    const { handler, store } = setup(auth)
    const foreign = makeEvent('x', { metadata: { tenant: 'globex' } })
    await expectError(
      await handler(pushEvents([makeEvent('ok'), foreign], as('acme'))),
      403,
      'forbidden',
    )
    expect(store.size).toBe(0)
  })

  it('Given requireTenant, When a tenant pushes an event without metadata.tenant, Then 422 and nothing stored; with it, the stored event is exactly the pushed one', async () => {
    const { handler, store } = setup({ ...auth, requireTenant: true })
    const error = await expectError(
      await handler(pushEvents([makeEvent('plain')], as('acme'))),
      422,
      'invalid-event',
    )
    expect(error.details).toEqual({ eventId: 'plain', field: 'metadata.tenant' })
    expect(store.size).toBe(0)
    const own = makeEvent('own', { metadata: { tenant: 'acme' } })
    expect((await handler(pushEvents([own], as('acme')))).status).toBe(200)
    const again = (await (await handler(pushEvents([own], as('acme')))).json()) as {
      duplicates: number
    }
    expect(again.duplicates).toBe(1)
    expect((await store.load(null))[0]?.event).toEqual(own)
  })

  it("Given another tenant's event id, When a tenant pushes that id, Then 409 revealing none of its data", async () => {
    const { handler, store } = setup(auth)
    await handler(
      pushEvents([makeEvent('shared', { data: { secret: 'globex-plans' } })], as('globex')),
    )
    const response = await handler(
      pushEvents([makeEvent('shared', { data: { mine: 1 } })], as('acme')),
    )
    const text = await response.clone().text()
    await expectError(response, 409, 'event-id-conflict')
    expect(text).not.toContain('globex')
    expect(store.size).toBe(1)
  })

  it('Given two tenants streaming, When both push, Then each stream carries only its tenant', async () => {
    const { handler } = setup(auth)
    const acmeStream = await openStream(handler(get('/v1/stream', as('acme'))))
    await acmeStream.until((r) => r.messages.length >= 1)
    await handler(pushEvents([makeEvent('g1')], as('globex')))
    await handler(pushEvents([makeEvent('a1')], as('acme')))
    await acmeStream.until((r) => r.events().length >= 1)
    expect(acmeStream.events().map((e) => e.data.event.id)).toEqual(['a1'])
    await acmeStream.cancel()
  })
})

describe('createSyncHandler: epoch', () => {
  it('Given a store, When the handler is recreated on it, Then the epoch persists; a new store gets a new one', async () => {
    const store = createMemoryStore()
    const first = await createSyncHandler({ store }).epoch()
    expect(await createSyncHandler({ store }).epoch()).toBe(first)
    const checkpoint = await store.getCheckpoint({
      remote: SERVER_EPOCH_CHECKPOINT_REMOTE,
      direction: 'pull',
    })
    expect(checkpoint?.epoch).toBe(first)
    expect(await createSyncHandler({ store: createMemoryStore() }).epoch()).not.toBe(first)
  })

  it('Given a fixed epoch option, When asked, Then every answer carries it', async () => {
    const { handler } = setup({ epoch: 'epoch-7' })
    const version = (await (await handler(get('/v1/version'))).json()) as { epoch: string }
    expect(version.epoch).toBe('epoch-7')
  })

  it('Given a store whose checkpoint write fails once, When asked again, Then the epoch is retried', async () => {
    const store = createMemoryStore()
    let failures = 1
    const flaky: EventStore = {
      ...wrapStore(store),
      setCheckpoint: (key: CheckpointKey, value: Checkpoint) => {
        if (failures-- > 0) return Promise.reject(new SyncKitError('unavailable', 'disk busy', {}))
        return store.setCheckpoint(key, value)
      },
    }
    const handler = createSyncHandler({ store: flaky, generateEpoch: () => 'gen-1' })
    await expectError(await handler(get('/v1/version')), 503, 'unavailable')
    expect(await handler.epoch()).toBe('gen-1')
  })
})

describe('createSyncHandler: stream', () => {
  it('Given stored events, When a stream opens with since, Then hello, the backlog, then live events, ids being cursors', async () => {
    const { handler } = setup()
    await handler(pushEvents(makeEvents(3)))
    const response = await handler(get('/v1/stream?since=1'))
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const sse = await openStream(Promise.resolve(response))
    await sse.until((r) => r.events().length >= 2)
    expect(sse.messages[0]?.event).toBe('hello')
    // The hello's id is the starting cursor: an EventSource reconnecting before any event resumes here.
    expect(sse.messages[0]?.id).toBe('1')
    expect(JSON.parse(sse.messages[0]?.data ?? 'null')).toMatchObject({
      latestVersion: '3',
      cursor: '1',
    })
    await handler(pushEvents([makeEvent('e4')]))
    await sse.until((r) => r.events().length >= 3)
    expect(sse.events().map((e) => [e.id, e.data.version, e.data.event.id])).toEqual([
      ['2', '2', 'e2'],
      ['3', '3', 'e3'],
      ['4', '4', 'e4'],
    ])
    await sse.cancel()
  })

  it('Given Last-Event-ID, When reconnecting, Then the stream resumes exactly after it', async () => {
    const { handler } = setup()
    await handler(pushEvents(makeEvents(5)))
    const sse = await openStream(handler(get('/v1/stream?since=1', { 'last-event-id': '3' })))
    await sse.until((r) => r.events().length >= 2)
    expect(sse.events().map((e) => e.id)).toEqual(['4', '5'])
    await sse.cancel()
  })

  it('Given no since, When a stream opens, Then only events stored afterwards are sent', async () => {
    const { handler } = setup()
    await handler(pushEvents(makeEvents(2)))
    const sse = await openStream(handler(get('/v1/stream')))
    await sse.until((r) => r.messages.length >= 1)
    await handler(pushEvents([makeEvent('late')]))
    await sse.until((r) => r.events().length >= 1)
    expect(sse.events().map((e) => e.data.event.id)).toEqual(['late'])
    await sse.cancel()
  })

  it('Given an idle stream, When heartbeatMs passes, Then a heartbeat comment is sent', async () => {
    const { handler } = setup({ heartbeatMs: 20 })
    const sse = await openStream(handler(get('/v1/stream')))
    await sse.until((r) => r.comments >= 2)
    expect(sse.comments).toBeGreaterThanOrEqual(2)
    expect(sse.events()).toHaveLength(0)
    await sse.cancel()
  })

  it('Given events written to the store directly, When notify() is called, Then streams deliver them', async () => {
    const { handler, store } = setup()
    const sse = await openStream(handler(get('/v1/stream')))
    await sse.until((r) => r.messages.length >= 1)
    await store.store(makeEvent('direct'))
    handler.notify()
    await sse.until((r) => r.events().length >= 1)
    expect(sse.events()[0]?.data.event.id).toBe('direct')
    await sse.cancel()
  })

  it('Given a bad cursor or filter, When a stream opens, Then a 4xx instead of a broken stream', async () => {
    const { handler } = setup()
    await expectError(await handler(get('/v1/stream?since=x')), 400, 'version-parse')
    await expectError(
      await handler(get('/v1/stream', { 'last-event-id': 'x' })),
      400,
      'version-parse',
    )
    await expectError(await handler(get('/v1/stream?colour=red')), 400, 'unsupported-filter')
    await expectError(await handler(get('/v1/stream?limit=5')), 400, 'invalid-argument')
  })

  it('Given open streams, When the handler closes, Then they end and new requests get 503', async () => {
    const { handler } = setup()
    const sse = await openStream(handler(get('/v1/stream')))
    await sse.until((r) => r.messages.length >= 1)
    await handler.close()
    await sse.until(() => false)
    expect(sse.ended).toBe(true)
    const response = await handler(get('/v1/version'))
    expect(response.headers.get('retry-after')).toBe('1')
    await expectError(response, 503, 'unavailable')
  })

  it('Given the store fails mid-stream, When the stream reads it, Then an error message ends the stream', async () => {
    const { handler, store } = setup()
    const sse = await openStream(handler(get('/v1/stream')))
    await sse.until((r) => r.messages.length >= 1)
    await store.close()
    handler.notify()
    await sse.until(() => false)
    const error = sse.messages.find((m) => m.event === 'error')
    expect(JSON.parse(error?.data ?? 'null')).toMatchObject({ error: { code: 'unavailable' } })
  })
})

describe('createSyncHandler: logging', () => {
  it('Given a logger, When requests are served, Then one JSON record per request with method, path, status, ms and counts', async () => {
    const lines: string[] = []
    const records: SyncLogEntry[] = []
    const { handler } = setup({
      logger: (entry) => {
        records.push(entry)
        createJsonLineLogger((line) => lines.push(line))(entry)
      },
    })
    await handler(pushEvents(makeEvents(2)))
    await handler(get('/v1/events?since=bad'))
    expect(records[0]).toMatchObject({
      level: 'info',
      method: 'POST',
      path: '/v1/events',
      status: 200,
      events: 2,
      stored: 2,
      duplicates: 0,
    })
    expect(typeof records[0]?.ms).toBe('number')
    expect(records[1]).toMatchObject({ level: 'warn', status: 400, code: 'version-parse' })
    expect(JSON.parse(lines[1] ?? 'null')).toEqual(records[1])
  })

  it('Given a failing store, When a request fails inside, Then 500 without internals and an error record', async () => {
    const records: SyncLogEntry[] = []
    const store = createMemoryStore()
    const broken: EventStore = {
      ...wrapStore(store),
      latestVersion: () => Promise.reject(new TypeError('db handle is null')),
    }
    const handler = createSyncHandler({ store: broken, logger: (e) => records.push(e) })
    const error = await expectError(await handler(get('/v1/version')), 500, 'internal')
    expect(error.message).not.toContain('db handle')
    expect(records[0]).toMatchObject({ level: 'error', status: 500, message: 'db handle is null' })
  })

  it("Given a store failing with a sync-kit internal error, When a request fails, Then the client gets no internals but the log record has the store's message", async () => {
    // Regression: the record said only "internal error; the server log has the details".
    const records: SyncLogEntry[] = []
    const broken: EventStore = {
      ...wrapStore(createMemoryStore()),
      latestVersion: () =>
        Promise.reject(
          new SyncKitError(
            'internal',
            '[sync-kit] [sqlite] latestVersion failed: SQLITE_IOERR',
            {},
          ),
        ),
    }
    const handler = createSyncHandler({ store: broken, logger: (e) => records.push(e) })

    const error = await expectError(await handler(get('/v1/version')), 500, 'internal')

    expect(error.message).not.toContain('SQLITE_IOERR')
    expect(records[0]).toMatchObject({ level: 'error', status: 500, code: 'internal' })
    expect(records[0]?.message).toContain('SQLITE_IOERR')
  })
})

async function openStream(pending: Promise<Response>): Promise<SseReader> {
  const response = await pending
  expect(response.status).toBe(200)
  if (response.body === null) throw new Error('the stream response has no body')
  return new SseReader(response.body)
}

describe('createSyncHandler options (regressions of the server-core restructuring)', () => {
  it('Given no store or a misspelt one, When the handler is created, Then invalid-argument names the store — never a hidden memory store that loses acknowledged pushes', () => {
    for (const options of [{}, { stores: createMemoryStore() }, { store: 'events.db' }]) {
      expect(() => createSyncHandler(options as unknown as SyncHandlerOptions)).toThrow(
        expect.objectContaining({ code: 'invalid-argument', details: { argument: 'store' } }),
      )
    }
  })

  it('Given an epoch that is not a non-empty string, When the handler is created, Then invalid-argument at once, not a 500 on every request', () => {
    for (const epoch of ['', () => 'e', 42]) {
      expect(() =>
        createSyncHandler({ store: createMemoryStore(), epoch } as unknown as SyncHandlerOptions),
      ).toThrow(
        expect.objectContaining({ code: 'invalid-argument', details: { argument: 'epoch' } }),
      )
    }
  })
})
