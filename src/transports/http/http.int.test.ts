import type { Socket } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { openSqliteStore } from '../../stores/sqlite/index.js'
import { transportConformance } from '../../testing/transport-conformance.js'
import type { EventStore, EventWithVersion } from '../../types/index.js'
import { HOSTILE_LIMITS, checkAnswer, hostileRequests } from './hostile-requests.fixture.js'
import { createHttpTransport } from './http-transport.js'
import type { HttpTransport, HttpTransportOptions } from './http-transport.js'
import { serve } from './node.js'
import type { RunningServer } from './node.js'
import { createSyncHandler } from './sync-handler.js'
import type { SyncHandler, SyncHandlerOptions } from './sync-handler.js'
import { SseReader, gzip, makeEvent, makeEvents, wrapStore } from './test-helpers.fixture.js'

const SEED = Number(process.env['FC_SEED'] ?? 20_261_129)

/** Everything a test starts, stopped after it even when it fails. */
const running: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop().catch(() => undefined)
})

interface TestServer {
  readonly server: RunningServer
  readonly url: string
  readonly sockets: Set<Socket>
  /** Destroys every open connection, as a network failure would. */
  killConnections(): void
}

async function startServer(
  handler: (request: Request) => Promise<Response>,
  register = true,
): Promise<TestServer> {
  const server = await serve({ handler, host: '127.0.0.1', port: 0, closeTimeoutMs: 2000 })
  const sockets = new Set<Socket>()
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  if (register) running.push(() => server.close())
  return {
    server,
    url: server.url,
    sockets,
    killConnections: () => {
      for (const socket of sockets) socket.destroy()
    },
  }
}

function clientOf(url: string, options: Partial<HttpTransportOptions> = {}): HttpTransport {
  const transport = createHttpTransport({
    url,
    retry: { retries: 5, initialMs: 10, maxMs: 50 },
    timeoutMs: 5000,
    ...options,
  })
  running.push(() => transport.close())
  return transport
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const vitestApi = {
  describe,
  it: (name: string, fn: () => Promise<void>) => it(name, fn),
  skip: (name: string, reason: string) => it.skip(`${name} (${reason})`, () => undefined),
}

for (const [name, createStore] of [
  ['http + memory store', () => Promise.resolve(createMemoryStore())],
  ['http + sqlite store', () => openSqliteStore({ path: ':memory:' })],
] as const) {
  transportConformance({
    name,
    test: vitestApi,
    createTransport: async () => {
      const store: EventStore = await createStore()
      const { server, url } = await startServer(createSyncHandler({ store }), false)
      const options = { retry: { retries: 1, initialMs: 5 } }
      return {
        transport: createHttpTransport({ url, ...options }),
        peer: createHttpTransport({ url, ...options }),
        cleanup: async () => {
          await server.close()
          await store.close()
        },
      }
    },
  })
}

describe('http over a real socket: live stream resume', () => {
  it('Given a subscriber receiving a large backlog, When every connection is killed mid-stream, Then it resumes from Last-Event-ID with nothing lost or repeated', async () => {
    const store = createMemoryStore()
    const { url, killConnections } = await startServer(
      createSyncHandler({ store, maxPageLimit: 50 }),
    )
    const pusher = clientOf(url)
    await pusher.push(makeEvents(400, 'a'))
    const subscriber = clientOf(url)
    const received: EventWithVersion[] = []
    const errors: unknown[] = []
    const sub = await subscriber.subscribe(
      async (batch) => {
        received.push(...batch)
        // Slow consumer: the kill lands while events are queued in the socket.
        await new Promise((resolve) => setTimeout(resolve, 1))
      },
      { since: subscriber.parseVersion('0'), onError: (e) => errors.push(e) },
    )
    await waitFor(() => received.length >= 60, 'part of the backlog')
    killConnections()
    // Written while the subscriber reconnects.
    await pusher.push(makeEvents(50, 'b'))
    await waitFor(() => received.length >= 200, 'more of the backlog')
    killConnections()
    await waitFor(() => received.length >= 450, 'the whole backlog')
    await pusher.push(makeEvents(10, 'c'))
    await waitFor(() => received.length >= 460, 'live events')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(received.map((e) => e.version.toString())).toEqual(
      Array.from({ length: 460 }, (_, i) => String(i + 1)),
    )
    expect(new Set(received.map((e) => e.event.id)).size).toBe(460)
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors.every((e) => isSyncKitError(e) && e.transient)).toBe(true)
    await sub.unsubscribe()
  })

  it('Given an idle stream, When heartbeatMs passes, Then heartbeat comments arrive over the wire', async () => {
    const { url } = await startServer(
      createSyncHandler({ store: createMemoryStore(), heartbeatMs: 30 }),
    )
    const controller = new AbortController()
    running.push(() => Promise.resolve(controller.abort()))
    const response = await fetch(`${url}/v1/stream`, { signal: controller.signal })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    if (response.body === null) throw new Error('no body')
    const sse = new SseReader(response.body)
    await sse.until((r) => r.comments >= 2)
    expect(sse.messages.map((m) => m.event)).toEqual(['hello'])
    controller.abort()
  })
})

describe('http over a real socket: server lifecycle', () => {
  it('Given a server restarted on the same store, Then the epoch is kept; replaced by a new store, Then the client sees a new epoch', async () => {
    const store = createMemoryStore()
    const current: { handler: SyncHandler } = { handler: createSyncHandler({ store }) }
    const { url } = await startServer((request) => current.handler(request))
    const client = clientOf(url)
    await client.push(makeEvents(3))
    const first = (await client.pull(null)).epoch
    expect(first).toBeDefined()
    current.handler = createSyncHandler({ store })
    expect((await client.pull(null)).epoch).toBe(first)

    const errors: unknown[] = []
    await client.subscribe(() => undefined, {
      since: (await client.pull(null)).events.at(-1)?.version ?? null,
      onError: (e) => errors.push(e),
    })
    await current.handler.close()
    current.handler = createSyncHandler({ store: createMemoryStore() })
    const replaced = await client.pull(null)
    expect(replaced.epoch).not.toBe(first)
    expect(replaced.events).toHaveLength(0)
    // The live subscription notices too: its reconnect meets a different epoch.
    await waitFor(() => errors.some((e) => isSyncKitError(e, 'protocol')), 'the epoch error')
  })

  it('Given in-flight requests and open streams, When the server closes, Then requests finish, streams end and close resolves', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const store = createMemoryStore()
    let gated = false
    // A store whose latestVersion stalls once the test says so: a request in the middle of its
    // work when the shutdown begins.
    const slowStore: EventStore = {
      ...wrapStore(store),
      latestVersion: async (options) => {
        if (gated) await gate
        return store.latestVersion(options)
      },
    }
    const handler = createSyncHandler({ store: slowStore })
    const { server, url } = await startServer(handler)
    const client = clientOf(url, { retry: { retries: 0 } })
    const errors: unknown[] = []
    await client.subscribe(() => undefined, { onError: (e) => errors.push(e) })
    gated = true
    const slow = client.latestVersion()
    await new Promise((resolve) => setTimeout(resolve, 20))
    const closing = server.close()
    setTimeout(release, 30)
    expect((await slow).toString()).toBe('0')
    await closing
    await waitFor(() => errors.length > 0, 'the stream to end')
    expect(await codeOf(client.latestVersion())).toBe('unavailable')
  })

  it('Given a server that never answers, When timeoutMs passes, Then the client fails with timeout', async () => {
    const { url } = await startServer(() => new Promise<Response>(() => undefined))
    const client = clientOf(url, { timeoutMs: 100, retry: { retries: 1, initialMs: 1 } })
    expect(await codeOf(client.latestVersion())).toBe('timeout')
  })

  it('Given a port already in use, When serving on it, Then unavailable', async () => {
    const { server } = await startServer(createSyncHandler({ store: createMemoryStore() }))
    await expect(
      serve({ handler: createSyncHandler({ store: createMemoryStore() }), port: server.port }),
    ).rejects.toMatchObject({ code: 'unavailable' })
  })
})

describe('http over a real socket: bodies and limits', () => {
  it('Given a client over its gzip threshold, When pushing, Then the server inflates and stores the batch', async () => {
    const store = createMemoryStore()
    const { url } = await startServer(createSyncHandler({ store }))
    const client = clientOf(url, { gzipThresholdBytes: 1 })
    expect(await client.push(makeEvents(200))).toMatchObject({ stored: 200 })
    expect(store.size).toBe(200)
  })

  it('Given an endless chunked upload, When it passes maxBodyBytes, Then 413 and the upload is cut off', async () => {
    const store = createMemoryStore()
    const { url } = await startServer(createSyncHandler({ store, maxBodyBytes: 256 * 1024 }))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        sent += 16 * 1024
        controller.enqueue(new Uint8Array(16 * 1024).fill(0x20))
        await new Promise((resolve) => setTimeout(resolve, 1))
      },
    })
    let status: number | undefined
    try {
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit)
      status = response.status
      expect(await response.json()).toMatchObject({ error: { code: 'payload-too-large' } })
    } catch (error) {
      // A client still writing when the server closes may see the reset instead of the 413.
      expect(String((error as Error).cause ?? error)).toMatch(
        /other side closed|ECONNRESET|EPIPE|socket/i,
      )
    }
    if (status !== undefined) expect(status).toBe(413)
    // Far less than "endless": the server stopped reading soon after the limit.
    expect(sent).toBeLessThan(64 * 1024 * 1024)
    expect(store.size).toBe(0)
  })

  it('Given a Content-Length over the limit, When posting, Then 413 without reading the body', async () => {
    const { url } = await startServer(
      createSyncHandler({ store: createMemoryStore(), maxBodyBytes: 1024 }),
    )
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(4096).fill(0x20),
    })
    expect(response.status).toBe(413)
  })

  it('Given 120 hostile requests over real HTTP, When served, Then the same invariants hold as at handler level', async () => {
    const store = createMemoryStore()
    const { url } = await startServer(createSyncHandler({ store, ...HOSTILE_LIMITS }))
    const bomb = await gzip(new Uint8Array(4 * 1024 * 1024))
    const samples = fc.sample(hostileRequests([bomb]), { seed: SEED, numRuns: 120 })
    for (const spec of samples) {
      const before = store.size
      const init: RequestInit = { method: spec.method, headers: spec.headers }
      if (spec.body !== undefined && spec.method !== 'GET') init.body = spec.body
      let response: Response
      try {
        response = await fetch(`${url}${spec.path}`, init)
      } catch (error) {
        // Only an oversize upload may be cut off by the server closing the connection.
        expect(spec.label, `seed ${SEED}: ${String(error)}`).toMatch(/^oversize|gzip bomb/)
        expect(store.size).toBe(before)
        continue
      }
      await checkAnswer(spec, response, before, store.size, `seed ${SEED} over http`)
    }
  })
})

describe('http over a real socket: tenants', () => {
  it('Given two tenants on one server, When each pushes, pulls and subscribes, Then neither ever sees the other', async () => {
    const store = createMemoryStore()
    const tokens: Record<string, string> = { 'Bearer t-acme': 'acme', 'Bearer t-globex': 'globex' }
    const { url } = await startServer(
      createSyncHandler({
        store,
        authorize: (request) => {
          const tenant = tokens[request.headers.get('authorization') ?? '']
          return tenant === undefined
            ? Promise.reject(new SyncKitError('unauthorized', 'unknown token', {}))
            : Promise.resolve({ tenant })
        },
        tenantOf: (principal: { tenant: string }) => principal.tenant,
      } satisfies SyncHandlerOptions<{ tenant: string }>),
    )
    const acme = clientOf(url, { headers: { authorization: 'Bearer t-acme' } })
    const globex = clientOf(url, { headers: { authorization: 'Bearer t-globex' } })
    const acmeLive: string[] = []
    await acme.subscribe((batch) => void acmeLive.push(...batch.map((e) => e.event.id)), {
      since: null,
    })
    await globex.push([makeEvent('g1', { data: { secret: true } })])
    await acme.push([makeEvent('a1')])
    await globex.push([makeEvent('g2')])
    await acme.push([makeEvent('a2')])
    await waitFor(() => acmeLive.length >= 2, 'acme live events')
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(acmeLive).toEqual(['a1', 'a2'])
    expect((await acme.pull(null)).events.map((e) => e.event.id)).toEqual(['a1', 'a2'])
    expect((await globex.pull(null)).events.map((e) => e.event.id)).toEqual(['g1', 'g2'])
    expect(await codeOf(acme.pull(null, { filters: [{ key: 'tenant', value: 'globex' }] }))).toBe(
      'forbidden',
    )
    expect(await codeOf(acme.push([makeEvent('g1', { data: { mine: true } })]))).toBe(
      'event-id-conflict',
    )
    expect(await codeOf(clientOf(url).pull(null))).toBe('unauthorized')
    expect(store.size).toBe(4)
  })
})

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isSyncKitError(error)) return error.code
    throw error
  }
  throw new Error('expected a rejection')
}
