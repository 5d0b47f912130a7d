// The WebSocket wire's own limits on real sockets (127.0.0.1): a batch over the frame limit is
// split and synced, a single event over it is refused by id, a client that stops reading is cut
// (1013) and resumes from its cursor, hostile frames give errors and store nothing, and the same
// auth, tenants and drift refusals as HTTP.
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { SyncKitError } from '../../errors/sync-kit-error.js'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { SyncManager } from '../../sync/sync-manager.js'
import type { EventWithVersion } from '../../types/index.js'
import type { WsTestServer } from '../../../test/ws.fixture.js'
import { WS_CLOSE, WS_SUBPROTOCOL } from './protocol.js'
import { bearerTenants, fakeWelcome, teardowns, waitFor } from './ws-raw.fixture.js'

const { running, server, client, rawSocket } = teardowns()

const stored = async (srv: WsTestServer): Promise<number> => (await srv.store.load(null)).length

const event = (id: string, size = 0) => ({
  id,
  type: 'Noted',
  aggregateId: `a-${id}`,
  data: { text: 'x'.repeat(size) },
})

describe('ws: message size', () => {
  it('Given a server whose frame limit is far below a replica batch, When the replica syncs, Then it splits its pushes to fit and the whole batch arrives', async () => {
    const srv = await server({ ws: { maxMessageBytes: 16 * 1024 } })
    let closes = 0
    srv.running.server.on('upgrade', () => closes++)
    const transport = client(srv.url)
    const manager = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'big' })
    running.push(() => manager.close())
    // 400 events of ~1 KiB: about 25 times the frame limit in one push page.
    for (let i = 0; i < 400; i++) {
      await manager.record({
        type: 'Noted',
        aggregateId: `a${i}`,
        data: { text: 'y'.repeat(1000) },
      })
    }
    const result = await manager.sync()
    expect(result.pushed).toBe(400)
    expect((await srv.store.load(null)).length).toBe(400)
    // One socket for the whole sync: no close with 1009 and a reconnect.
    expect(closes).toBe(1)
  })

  it('Given a single event over the frame limit, When pushed, Then it is refused by id with payload-too-large before it is sent, and the socket stays up', async () => {
    const srv = await server({ ws: { maxMessageBytes: 4096 } })
    const transport = client(srv.url)
    const error = await transport
      .push([event('small'), event('huge', 10_000)])
      .catch((e: unknown) => e)
    expect(isSyncKitError(error, 'payload-too-large')).toBe(true)
    expect((error as SyncKitError<'payload-too-large'>).details).toEqual({
      limitBytes: 4096,
      eventId: 'huge',
    })
    // The part that fitted was stored; the socket still works.
    expect((await transport.pull(null)).events.map((e) => e.event.id)).toEqual(['small'])
  })

  it('Given an event over maxEventBytes but within the frame, When pushed, Then the server refuses it by id as over HTTP, and the rest of the split batch is stored', async () => {
    const srv = await server({ handler: { maxEventBytes: 2000 } })
    const transport = client(srv.url)
    const error = await transport.push([event('ok'), event('big', 5000)]).catch((e: unknown) => e)
    expect(isSyncKitError(error, 'payload-too-large')).toBe(true)
    expect((error as SyncKitError<'payload-too-large'>).details).toEqual({
      limitBytes: 2000,
      eventId: 'big',
    })
    // As over HTTP, the client splits a refused batch: the event that fits is stored.
    expect((await srv.store.load(null)).map((e) => e.event.id)).toEqual(['ok'])
  })
})

describe('ws: backpressure', () => {
  it('Given a client that stops reading, When its send buffer passes maxBufferedBytes, Then the server closes it with 1013 and, reading again, the client resumes its subscription from its cursor', async () => {
    const srv = await server({
      handler: { maxPageBytes: 256 * 1024 },
      ws: { maxBufferedBytes: 512 * 1024 },
    })
    const pusher = client(srv.url)
    for (let i = 0; i < 10; i++) {
      await pusher.push(Array.from({ length: 40 }, (_, j) => event(`p${i}-${j}`, 4000)))
    }
    const sockets: WebSocket[] = []
    class RecordingSocket extends WebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols)
        sockets.push(this)
      }
    }
    const reader = client(srv.url, { WebSocket: RecordingSocket })
    const received: EventWithVersion[] = []
    const errors: unknown[] = []
    await reader.subscribe((batch) => void received.push(...batch), {
      since: reader.parseVersion('0'),
      onError: (e) => errors.push(e),
    })
    await waitFor(() => received.length === 400, 'the backlog')
    // The client stops reading its socket; many large pulls pile up in the server's send buffer.
    sockets[0]?.pause()
    const pulls = Array.from({ length: 30 }, () =>
      reader.pull(null, { limit: 1000 }).catch((e: unknown) => e),
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    await pusher.push([event('while-paused')])
    // Reading again, it finds the server closed it for reading too slowly.
    sockets[0]?.resume()
    await waitFor(() => errors.length > 0, 'the close for a slow reader')
    expect(errors.some((e) => isSyncKitError(e, 'unavailable') && /1013/.test(e.message))).toBe(
      true,
    )
    // The pulls were retried on a new socket; the subscription resumed from its cursor.
    const pages = await Promise.all(pulls)
    expect(pages.every((p) => !(p instanceof Error))).toBe(true)
    await waitFor(() => received.length === 401, 'the event pushed while paused')
    expect(new Set(received.map((e) => e.event.id)).size).toBe(401)
    expect(sockets.length).toBeGreaterThanOrEqual(2)
  })
})

describe('ws: hostile frames', () => {
  it('Given invalid JSON, unknown types, binary frames, bad requests and a flood, When sent, Then each gets an error, the server stays up and stores nothing', async () => {
    const srv = await server()
    const raw = await rawSocket(srv.url)
    expect(raw.messages[0]?.['type']).toBe('welcome')
    const frames: (string | Buffer)[] = [
      '{not json',
      '[]',
      '{"type":42}',
      '{"type":"launch","id":1}',
      '{"type":"push","events":[]}',
      '{"type":"push","id":2,"events":{"0":1}}',
      '{"type":"push","id":3,"events":[{"id":"e1","type":"T","aggregateId":"a","data":{},"extra":1}]}',
      '{"type":"push","id":4,"events":[{"id":"","type":"T","aggregateId":"a","data":{}}]}',
      `{"type":"push","id":5,"events":[{"id":"e2","type":"T","aggregateId":"a","data":${'['.repeat(300)}${']'.repeat(300)}}]}`,
      '{"type":"pull","id":6,"since":"not a version"}',
      '{"type":"pull","id":7,"limit":-1}',
      '{"type":"pull","id":8,"filters":"type=T"}',
      '{"type":"subscribe","id":9,"since":{"x":1}}',
      Buffer.from([0, 1, 2, 3]),
    ]
    for (const frame of frames) raw.socket.send(frame)
    // A flood of small messages, bounded: each answered, none stored.
    for (let i = 0; i < 2000; i++) raw.socket.send(`{"type":"launch","id":${100 + i}}`)
    await waitFor(() => raw.messages.length >= 1 + frames.length + 2000, 'an answer to every frame')
    const errors = raw.messages.slice(1)
    expect(errors.every((m) => m['type'] === 'error')).toBe(true)
    const codes = new Set(errors.map((m) => (m['error'] as { code: string }).code))
    expect([...codes].sort()).toEqual([
      'invalid-argument',
      'invalid-event',
      'protocol',
      'version-parse',
    ])
    expect(raw.closed()).toBeUndefined()
    expect(await stored(srv)).toBe(0)
    // Still serving: a valid push over the same socket goes through.
    raw.socket.send(JSON.stringify({ type: 'push', id: 'ok', events: [event('fine')] }))
    await waitFor(() => raw.messages.some((m) => m['id'] === 'ok'), 'the push answer')
    expect(raw.messages.find((m) => m['id'] === 'ok')?.['type']).toBe('result')
    expect(await stored(srv)).toBe(1)
  })

  it('Given a frame over maxMessageBytes, When sent, Then the server closes that socket with 1009, stores nothing and keeps serving others', async () => {
    const srv = await server({ ws: { maxMessageBytes: 8192 } })
    const raw = await rawSocket(srv.url)
    raw.socket.send(JSON.stringify({ type: 'push', id: 1, events: [event('x', 20_000)] }))
    await waitFor(() => raw.closed() !== undefined, 'the close')
    expect(raw.closed()?.code).toBe(WS_CLOSE.tooBig)
    expect(await stored(srv)).toBe(0)
    expect((await client(srv.url).push([event('y')])).stored).toBe(1)
  })

  it('Given a request before the hello, or a hello of another version, When sent, Then it is refused with an error and a 1008 close', async () => {
    const srv = await server()
    const socket = new WebSocket(`${srv.url}/v1/ws`, [WS_SUBPROTOCOL])
    running.push(async () => socket.terminate())
    const got: Record<string, unknown>[] = []
    const closed = new Promise<number>((resolve) =>
      socket.on('close', (code: number) => resolve(code)),
    )
    socket.on('message', (data: Buffer) => got.push(JSON.parse(data.toString()) as never))
    await new Promise((resolve) => socket.once('open', resolve))
    socket.send(JSON.stringify({ type: 'hello', protocol: 99 }))
    expect(await closed).toBe(WS_CLOSE.refused)
    expect(got[0]).toMatchObject({ type: 'error', error: { code: 'protocol' } })
  })

  it('Given an upgrade without the subprotocol or to another path, When made, Then it is refused before any session', async () => {
    const srv = await server()
    for (const [path, protocols] of [
      ['/v1/ws', []],
      ['/v1/other', [WS_SUBPROTOCOL]],
    ] as const) {
      const socket = new WebSocket(`${srv.url}${path}`, [...protocols])
      const status = await new Promise<number>((resolve) => {
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
        socket.on('error', () => resolve(-1))
      })
      expect([400, 404]).toContain(status)
    }
    expect(srv.ws.sockets).toBe(0)
  })
})

describe('ws: the same auth, tenants and refusals as HTTP', () => {
  it('Given authorize and tenantOf, When clients connect with headers in the hello, Then a bad token is refused (unauthorized) and a tenant sees only its own events', async () => {
    const srv = await server({
      handler: {
        ...bearerTenants(),
      },
    })
    const stranger = client(srv.url, { retry: { retries: 0 } })
    const refused = await stranger.pull(null).catch((e: unknown) => e)
    expect(isSyncKitError(refused, 'unauthorized')).toBe(true)
    const acme = client(srv.url, { headers: { authorization: 'Bearer acme' } })
    const globex = client(srv.url, { headers: () => ({ authorization: 'Bearer globex' }) })
    await acme.push([{ ...event('a1'), metadata: { tenant: 'acme' } }])
    await globex.push([event('g1')])
    expect((await acme.pull(null)).events.map((e) => e.event.id)).toEqual(['a1'])
    expect((await globex.pull(null)).events.map((e) => e.event.metadata?.tenant)).toEqual([
      'globex',
    ])
    const forbidden = await acme
      .push([{ ...event('x'), metadata: { tenant: 'globex' } }])
      .catch((e: unknown) => e)
    expect(isSyncKitError(forbidden, 'forbidden')).toBe(true)
  })

  it('Given an event stamped far ahead, When pushed, Then clock-drift with the same details as HTTP and ifEpoch mismatches are refused', async () => {
    const srv = await server({ handler: { maxDriftMs: 1000 } })
    const transport = client(srv.url)
    const ahead = (Date.now() + 3_600_000).toString(16).padStart(12, '0')
    const drift = await transport
      .push([{ ...event('d1'), metadata: { hlc: `${ahead}-0000-phone` } }])
      .catch((e: unknown) => e)
    expect(isSyncKitError(drift, 'clock-drift')).toBe(true)
    expect((drift as SyncKitError<'clock-drift'>).details).toMatchObject({
      eventId: 'd1',
      maxDriftMs: 1000,
    })
    const mismatch = await transport
      .push([event('e1')], { ifEpoch: 'other' })
      .catch((e: unknown) => e)
    expect(isSyncKitError(mismatch, 'epoch-mismatch')).toBe(true)
    expect((mismatch as SyncKitError<'epoch-mismatch'>).details.expected).toBe('other')
    expect(await stored(srv)).toBe(0)
  })

  it('Given pushes over HTTP, When a WebSocket client subscribes, Then it receives them live: one core, one fan-out', async () => {
    const srv = await server()
    const transport = client(srv.url)
    const received: string[] = []
    await transport.subscribe((batch) => void received.push(...batch.map((e) => e.event.id)))
    const response = await fetch(`${srv.httpUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event('over-http')] }),
    })
    expect(response.status).toBe(200)
    await waitFor(() => received.length === 1, 'the live event')
    expect(received).toEqual(['over-http'])
  })
})

describe('ws: heartbeats and idle timeout', () => {
  it('Given a short heartbeat, When a socket is silent, Then the server pings it, and closes it with 4000 once it answers nothing for the idle timeout', async () => {
    const srv = await server({ handler: { heartbeatMs: 40 }, ws: { idleTimeoutMs: 200 } })
    const raw = await rawSocket(srv.url)
    // Never answering: the ws package's own pong frames are not messages.
    await waitFor(() => raw.messages.some((m) => m['type'] === 'ping'), 'a ping')
    await waitFor(() => raw.closed() !== undefined, 'the idle close', 5000)
    expect(raw.closed()?.code).toBe(WS_CLOSE.idle)
  })

  it('Given a client that answers pings, When it is idle far longer than the idle timeout, Then its socket stays open and its subscription alive', async () => {
    const srv = await server({ handler: { heartbeatMs: 30 }, ws: { idleTimeoutMs: 100 } })
    let upgrades = 0
    srv.running.server.on('upgrade', () => upgrades++)
    const transport = client(srv.url)
    const received: string[] = []
    const errors: unknown[] = []
    await transport.subscribe((batch) => void received.push(...batch.map((e) => e.event.id)), {
      onError: (e) => errors.push(e),
    })
    await new Promise((resolve) => setTimeout(resolve, 500))
    await client(srv.url).push([event('after-idle')])
    await waitFor(() => received.length === 1, 'the live event')
    // The subscriber's one socket and the pusher's: no reconnect, no error.
    expect(upgrades).toBe(2)
    expect(errors).toEqual([])
  })

  it('Given a server that goes silent after its welcome, When the announced idle timeout passes, Then the client takes the socket for dead and its call is retried on a new one', async () => {
    const { WebSocketServer } = await import('ws')
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    running.push(() => new Promise((resolve) => silent.close(() => resolve(undefined))))
    await new Promise((resolve) => silent.once('listening', resolve))
    let connections = 0
    silent.on('connection', (socket) => {
      connections++
      socket.on('message', () => {
        if (connections > 1) return
        socket.send(fakeWelcome(20, 80))
      })
    })
    const port = (silent.address() as { port: number }).port
    const transport = client(`ws://127.0.0.1:${port}`, {
      retry: { retries: 1, initialMs: 5 },
      timeoutMs: 300,
    })
    const error = await transport.latestVersion().catch((e: unknown) => e)
    expect(isSyncKitError(error, 'timeout')).toBe(true)
    expect(connections).toBe(2)
  })
})

describe('ws: reconnect', () => {
  it('Given a live subscriber, When every connection is killed twice, Then it reconnects with backoff and resumes from its cursor, nothing lost or repeated', async () => {
    const srv = await server({ handler: { maxPageLimit: 50 } })
    const pusher = client(srv.url)
    await pusher.push(Array.from({ length: 300 }, (_, i) => event(`a${i}`)))
    const subscriber = client(srv.url)
    const received: EventWithVersion[] = []
    const errors: unknown[] = []
    await subscriber.subscribe(
      async (batch) => {
        received.push(...batch)
        await new Promise((resolve) => setTimeout(resolve, 1))
      },
      { since: subscriber.parseVersion('0'), onError: (e) => errors.push(e) },
    )
    await waitFor(() => received.length >= 60, 'part of the backlog')
    srv.killConnections()
    await pusher.push(Array.from({ length: 50 }, (_, i) => event(`b${i}`)))
    await waitFor(() => received.length >= 200, 'more of the backlog')
    srv.killConnections()
    await waitFor(() => received.length >= 350, 'the whole backlog')
    await pusher.push([event('live')])
    await waitFor(() => received.length >= 351, 'the live event')
    expect(received.map((e) => e.version.toString())).toEqual(
      Array.from({ length: 351 }, (_, i) => String(i + 1)),
    )
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors.every((e) => isSyncKitError(e) && e.transient)).toBe(true)
  })

  it('Given a server that shuts down, When it closes, Then its sockets get 1001 and a later call fails as unavailable after its retries', async () => {
    const srv = await server()
    const transport = client(srv.url, { retry: { retries: 1, initialMs: 5 } })
    await transport.push([event('e1')])
    await srv.close()
    const error = await transport.pull(null).catch((e: unknown) => e)
    expect(isSyncKitError(error, 'unavailable')).toBe(true)
  })
})
