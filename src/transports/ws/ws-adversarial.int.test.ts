// Adversarial probes of the WebSocket wire on real sockets (127.0.0.1): pipelined floods against
// the in-flight bound, client-side closes the standard WebSocket refuses, and the ends of sockets
// in the middle of calls.
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { serve } from '../http/node.js'
import { createSyncHandler } from '../http/sync-handler.js'
import { SyncManager } from '../../sync/sync-manager.js'
import type { Version } from '../../types/index.js'
import { startWsServer, wsClient } from '../../../test/ws.fixture.js'
import { WS_CLOSE, WS_SUBPROTOCOL } from './protocol.js'
import { bearerTenants, fakeWelcome, teardowns, waitFor } from './ws-raw.fixture.js'
import { createWebSocketServer } from './ws-server.js'
import { createWebSocketTransport } from './ws-transport.js'

const { running, server, rawSocket } = teardowns()

describe('ws adversarial: inbound flood', () => {
  it('Given maxInFlight 4 and a slow store, When a client pipelines 300 requests in one burst, Then at most 4 run at once and every one is answered', async () => {
    const store = createMemoryStore()
    const latest = store.latestVersion.bind(store)
    let now = 0
    let most = 0
    store.latestVersion = async (options): Promise<Version> => {
      now++
      most = Math.max(most, now)
      try {
        await new Promise((resolve) => setTimeout(resolve, 5))
        return await latest(options)
      } finally {
        now--
      }
    }
    const srv = await server({ store, ws: { maxInFlight: 4 } })
    const raw = await rawSocket(srv.url)
    most = 0
    // One write: the frames arrive in one TCP chunk, which `ws` parses whole even when paused.
    const frames = Array.from({ length: 300 }, (_, i) => JSON.stringify({ type: 'latest', id: i }))
    for (const frame of frames) raw.socket.send(frame)
    await waitFor(() => raw.messages.length >= 301, 'an answer to every request', 20_000)
    const answers = raw.messages.slice(1)
    expect(answers.every((m) => m['type'] === 'result')).toBe(true)
    expect(new Set(answers.map((m) => m['id'])).size).toBe(300)
    expect(most).toBeLessThanOrEqual(4)
  })
})

/**
 * The `ws` package's WebSocket with the close rule of the WHATWG standard (browsers, the global
 * WebSocket of Node ≥ 22): `close(code)` throws `InvalidAccessError` unless the code is 1000 or
 * in 3000–4999. The `ws` package itself accepts any valid code, so a test on it alone misses this.
 */
class StandardCloseWebSocket extends WebSocket {
  override close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new DOMException(
        `The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
        'InvalidAccessError',
      )
    }
    super.close(code, reason)
  }
}

const welcome = fakeWelcome(10_000, 30_000)

describe('ws adversarial: a hostile server and the standard WebSocket', () => {
  it('Given a standard WebSocket, When the server answers a call with a frame that is not a message, Then the call fails with protocol and the client really closes the socket', async () => {
    const { WebSocketServer } = await import('ws')
    const hostile = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    running.push(() => new Promise((resolve) => hostile.close(() => resolve(undefined))))
    await new Promise((resolve) => hostile.once('listening', resolve))
    const closes: number[] = []
    hostile.on('connection', (socket) => {
      socket.on('close', (code: number) => closes.push(code))
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { type: string }
        socket.send(message.type === 'hello' ? welcome : 'not json at all')
      })
    })
    const port = (hostile.address() as { port: number }).port
    const transport = createWebSocketTransport({
      url: `ws://127.0.0.1:${port}`,
      WebSocket: StandardCloseWebSocket,
      retry: { retries: 0 },
      timeoutMs: 2000,
    })
    running.push(() => transport.close())
    const error = await transport.latestVersion().catch((e: unknown) => e)
    expect(isSyncKitError(error, 'protocol')).toBe(true)
    // Not left open for the server to find idle much later: closed now, by the client.
    await waitFor(() => closes.length === 1, 'the client to close the socket', 2000)
  })
})

describe('ws adversarial: stopping while the server is slow', () => {
  /** A server whose store answers latestVersion slowly once `slow` is set (after the welcome). */
  async function slowServer(ms: number) {
    const store = createMemoryStore()
    const latest = store.latestVersion.bind(store)
    const state = { slow: false }
    store.latestVersion = async (options): Promise<Version> => {
      if (state.slow) await new Promise((resolve) => setTimeout(resolve, ms))
      return latest(options)
    }
    return { srv: await server({ store }), state }
  }

  it('Given a subscribe the server has not answered yet, When its signal aborts, Then subscribe rejects with aborted at once, not when the server answers', async () => {
    const { srv, state } = await slowServer(3000)
    const transport = wsClient(srv.url, { timeoutMs: 5000 })
    running.push(() => transport.close())
    await transport.latestVersion()
    state.slow = true
    const abort = new AbortController()
    const subscribing = transport.subscribe(() => undefined, { signal: abort.signal })
    const outcome = subscribing.then(
      () => 'subscribed',
      (e: unknown) => e,
    )
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = Date.now()
    abort.abort()
    const error = await outcome
    expect(isSyncKitError(error, 'aborted')).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
    // The client told the server: the subscription's live slot is free before its feed opened.
    await waitFor(() => srv.handler.endpoint.liveSlots.taken === 0, 'the live slot', 1000)
  })

  it('Given a subscribe the server has not answered yet, When the transport closes, Then close resolves at once and subscribe rejects with transport-closed', async () => {
    const { srv, state } = await slowServer(3000)
    const transport = wsClient(srv.url, { timeoutMs: 5000 })
    await transport.latestVersion()
    state.slow = true
    const outcome = transport
      .subscribe(() => undefined)
      .then(
        () => 'subscribed',
        (e: unknown) => e,
      )
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = Date.now()
    await transport.close()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(isSyncKitError(await outcome, 'transport-closed')).toBe(true)
  })
})

describe('ws adversarial: timeouts of the HTTP server and the heartbeat', () => {
  it('Given short HTTP header and request timeouts, When a live subscriber stays idle far past them, Then its socket is not cut: the WebSocket lives by its own heartbeat', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({ store, heartbeatMs: 100 })
    const ws = createWebSocketServer({ handler })
    const srv = await serve({
      handler,
      upgrade: ws,
      host: '127.0.0.1',
      port: 0,
      headersTimeoutMs: 300,
      requestTimeoutMs: 300,
      closeTimeoutMs: 1000,
    })
    running.push(() => srv.close())
    let upgrades = 0
    srv.server.on('upgrade', () => upgrades++)
    const url = srv.url.replace(/^http:/, 'ws:')
    const transport = wsClient(url)
    running.push(() => transport.close())
    const received: string[] = []
    const errors: unknown[] = []
    await transport.subscribe((batch) => void received.push(...batch.map((e) => e.event.id)), {
      onError: (e) => errors.push(e),
    })
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const pusher = wsClient(url)
    running.push(() => pusher.close())
    await pusher.push([{ id: 'late', type: 'T', aggregateId: 'a', data: {} }])
    await waitFor(() => received.length === 1, 'the live event')
    expect(errors).toEqual([])
    expect(upgrades).toBe(2)
  })

  it('Given an idle timeout not twice the heartbeat, When the server is created, Then it is refused: the server would close live clients before it pings them', () => {
    const handler = createSyncHandler({ store: createMemoryStore(), heartbeatMs: 1000 })
    for (const idleTimeoutMs of [500, 1000, 1999]) {
      const error = (() => {
        try {
          createWebSocketServer({ handler, idleTimeoutMs })
          return undefined
        } catch (e) {
          return e
        }
      })()
      expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
      expect((error as Error).message).toMatch(/idleTimeoutMs.*heartbeatMs/)
    }
    expect(() => createWebSocketServer({ handler, idleTimeoutMs: 2000 })).not.toThrow()
  })
})

describe('ws adversarial: what a page may set in the hello', () => {
  /**
   * A server whose authorize trusts the session cookie, but only from its own origin. Its `cors`
   * lets every origin open a socket, so what stops the forgery is the hello rule, not the
   * upgrade's Origin check (which refuses other origins when `cors` names only some).
   */
  async function cookieServer() {
    const seen: (string | null)[] = []
    const srv = await server({
      handler: {
        cors: { origins: '*' },
        authorize: async (request) => {
          seen.push(request.headers.get('origin'))
          if (request.headers.get('origin') !== 'https://app.example.com') {
            throw new SyncKitError('forbidden', 'cross-origin socket', {})
          }
          if (request.headers.get('cookie') !== 'session=victim') {
            throw new SyncKitError('unauthorized', 'no session', {})
          }
          return 'victim'
        },
      },
    })
    return { srv, seen }
  }

  /** A socket as a page on another origin opens it: the browser adds the victim's cookie. */
  async function crossSite(url: string, hello: Record<string, unknown>) {
    const socket = new WebSocket(`${url}/v1/ws`, [WS_SUBPROTOCOL], {
      origin: 'https://evil.example',
      headers: { cookie: 'session=victim' },
    })
    running.push(async () => socket.terminate())
    const got: Record<string, unknown>[] = []
    socket.on('message', (data: Buffer) => got.push(JSON.parse(data.toString()) as never))
    const closed = new Promise<number>((resolve) => socket.on('close', resolve))
    socket.on('error', () => undefined)
    await new Promise((resolve) => socket.once('open', resolve))
    socket.send(JSON.stringify({ type: 'hello', protocol: 1, ...hello }))
    return { got, code: await closed }
  }

  it('Given an authorize that checks Origin, When a cross-site page names the right origin in its hello headers, Then the hello is refused and authorize never sees the forged origin', async () => {
    const { srv, seen } = await cookieServer()
    for (const name of [
      'origin',
      'Origin',
      'host',
      'cookie',
      'sec-fetch-site',
      'Proxy-Authorization',
    ]) {
      const { got, code } = await crossSite(srv.url, {
        headers: { [name]: name.toLowerCase() === 'origin' ? 'https://app.example.com' : 'x' },
      })
      expect(code).toBe(WS_CLOSE.refused)
      expect(got[0]).toMatchObject({ type: 'error', error: { code: 'invalid-argument' } })
      expect((got[0]?.['error'] as { message: string }).message).toContain(name)
    }
    expect(seen.every((origin) => origin === 'https://evil.example')).toBe(true)
    // Without the forgery: refused by authorize, for the origin the browser set.
    const plain = await crossSite(srv.url, {})
    expect(plain.code).toBe(WS_CLOSE.refused)
    expect(plain.got[0]).toMatchObject({ type: 'error', error: { code: 'forbidden' } })
    expect(await srv.store.load(null)).toEqual([])
  })
})

describe('ws adversarial: tenants and live slots', () => {
  it('Given two tenants, When one subscribes with no filter, with the other tenant named, and pulls, Then it never sees the other tenant: the named filter is forbidden', async () => {
    const srv = await server({
      handler: {
        ...bearerTenants(),
      },
    })
    const acme = wsClient(srv.url, { headers: { authorization: 'Bearer acme' } })
    const globex = wsClient(srv.url, { headers: { authorization: 'Bearer globex' } })
    running.push(
      () => acme.close(),
      () => globex.close(),
    )
    const seen: string[] = []
    await acme.subscribe((batch) => void seen.push(...batch.map((e) => e.event.id)))
    const named = await acme
      .subscribe(() => undefined, { filters: [{ key: 'tenant', value: 'globex' }] })
      .catch((e: unknown) => e)
    expect(isSyncKitError(named, 'forbidden')).toBe(true)
    const pulled = await acme
      .pull(null, { filters: [{ key: 'tenant', value: 'globex' }] })
      .catch((e: unknown) => e)
    expect(isSyncKitError(pulled, 'forbidden')).toBe(true)
    await globex.push([{ id: 'g1', type: 'T', aggregateId: 'x', data: {} }])
    await acme.push([{ id: 'a1', type: 'T', aggregateId: 'x', data: {} }])
    await waitFor(() => seen.length > 0, 'acme to see its own event')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual(['a1'])
    expect((await acme.pull(null)).events.map((e) => e.event.id)).toEqual(['a1'])
  })

  it('Given sockets holding subscriptions and a large pull in flight, When their connections are cut, Then every live slot is given back and the server keeps serving', async () => {
    const srv = await server({ handler: { maxStreams: 4 } })
    const pusher = wsClient(srv.url)
    running.push(() => pusher.close())
    await pusher.push(
      Array.from({ length: 200 }, (_, i) => ({
        id: `e${i}`,
        type: 'T',
        aggregateId: 'x',
        data: { text: 'y'.repeat(5000) },
      })),
    )
    const raws = await Promise.all([rawSocket(srv.url), rawSocket(srv.url)])
    for (const [n, raw] of raws.entries()) {
      raw.socket.send(JSON.stringify({ type: 'subscribe', id: 's1' }))
      raw.socket.send(JSON.stringify({ type: 'subscribe', id: 's2', since: '0' }))
      raw.socket.send(JSON.stringify({ type: 'pull', id: `p${n}`, limit: 1000 }))
    }
    await waitFor(() => srv.handler.endpoint.liveSlots.taken === 4, 'four live slots')
    // A fifth is past maxStreams.
    const extra = await rawSocket(srv.url)
    extra.socket.send(JSON.stringify({ type: 'subscribe', id: 'over' }))
    await waitFor(() => extra.messages.length > 1, 'the refusal')
    expect(extra.messages[1]).toMatchObject({ id: 'over', error: { code: 'unavailable' } })
    for (const raw of raws) raw.socket.terminate()
    await waitFor(() => srv.handler.endpoint.liveSlots.taken === 0, 'the slots back')
    // The pusher's socket and the extra one remain.
    await waitFor(() => srv.ws.sockets === 2, 'the cut sockets gone')
    extra.socket.send(JSON.stringify({ type: 'subscribe', id: 'now' }))
    await waitFor(() => extra.messages.some((m) => m['id'] === 'now'), 'the subscribe answer')
    expect(extra.messages.find((m) => m['id'] === 'now')?.['type']).toBe('result')
  })
})

describe('ws adversarial: a server restarted under its clients', () => {
  /** The HTTP handler and the WebSocket server on `port` (0: any) of 127.0.0.1. */
  async function serveOn(port: number, store = createMemoryStore()) {
    const handler = createSyncHandler({ store })
    const srv = await serve({
      handler,
      upgrade: createWebSocketServer({ handler }),
      host: '127.0.0.1',
      port,
      closeTimeoutMs: 1000,
    })
    running.push(() => srv.close())
    let upgrades = 0
    srv.server.on('upgrade', () => upgrades++)
    return {
      srv,
      store,
      port: Number(new URL(srv.url).port),
      url: srv.url.replace(/^http:/, 'ws:'),
      upgrades: () => upgrades,
    }
  }

  it('Given a live subscriber, When the server comes back on its port with a new epoch, Then the subscription ends with protocol once and does not reconnect in a loop', async () => {
    const first = await serveOn(0)
    const transport = wsClient(first.url)
    running.push(() => transport.close())
    const seen: string[] = []
    const errors: unknown[] = []
    await transport.subscribe((batch) => void seen.push(...batch.map((e) => e.event.id)), {
      onError: (e) => errors.push(e),
    })
    await transport.push([{ id: 'before', type: 'T', aggregateId: 'x', data: {} }])
    await waitFor(() => seen.length === 1, 'the first event')
    await first.srv.close()
    const second = await serveOn(first.port)
    await waitFor(
      () => errors.some((e) => isSyncKitError(e, 'protocol') && /epoch/.test(e.message)),
      'the epoch refusal',
    )
    const upgrades = second.upgrades()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(second.upgrades()).toBe(upgrades)
    expect(seen).toEqual(['before'])
  })

  it('Given a SyncManager pushing over WebSocket, When the server is stopped and started again on its store mid-push, Then every event is stored exactly once', async () => {
    const store = createMemoryStore()
    const first = await serveOn(0, store)
    const transport = wsClient(first.url, { retry: { retries: 20, initialMs: 10, maxMs: 50 } })
    running.push(() => transport.close())
    const manager = new SyncManager({
      store: createMemoryStore(),
      transport,
      nodeId: 'writer',
      batchSize: 50,
    })
    running.push(() => manager.close())
    for (let i = 0; i < 400; i++) {
      await manager.record({ type: 'T', aggregateId: `a${i % 7}`, data: { i } })
    }
    // The server shuts down as it stores the third batch: that push is answered (or cut) while
    // the server goes away, the rest are sent to the next one.
    const storeBatch = store.storeBatch.bind(store)
    let batches = 0
    let stopped: Promise<void> | undefined
    store.storeBatch = (events, options) => {
      if (++batches === 3) stopped = first.srv.close()
      return storeBatch(events, options)
    }
    const syncing = manager.sync()
    await waitFor(() => stopped !== undefined, 'the third batch')
    await stopped
    const before = (await store.load(null)).length
    expect(before).toBeGreaterThan(0)
    expect(before).toBeLessThan(400)
    const second = await serveOn(first.port, store)
    await syncing.catch(() => undefined)
    await manager.sync()
    const ids = (await second.store.load(null)).map((e) => e.event.id)
    expect(ids).toHaveLength(400)
    expect(new Set(ids).size).toBe(400)
  })
})

describe('ws adversarial: many clients', () => {
  it('Given 100 live subscribers, When every connection is cut and the port refuses them for a while, Then they back off (a bounded number of attempts), all come back and each receives the next event once', async () => {
    const { createServer } = await import('node:net')
    const srv = await server()
    const transports = Array.from({ length: 100 }, () =>
      wsClient(srv.url, { retry: { retries: 5, initialMs: 100, maxMs: 800 } }),
    )
    running.push(() => Promise.all(transports.map((t) => t.close())).then(() => undefined))
    const seen = transports.map(() => [] as string[])
    await Promise.all(
      transports.map((t, i) =>
        t.subscribe((batch) => void seen[i]?.push(...batch.map((e) => e.event.id)), {
          onError: () => undefined,
        }),
      ),
    )
    expect(srv.ws.sockets).toBe(100)
    // The server goes away; for 1.5 s its port takes TCP connections and drops them at once.
    const port = Number(new URL(srv.httpUrl).port)
    await srv.close()
    let attempts = 0
    const refuser = createServer((socket) => {
      attempts++
      socket.destroy()
    })
    await new Promise<void>((resolve) => refuser.listen(port, '127.0.0.1', resolve))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await new Promise((resolve) => refuser.close(resolve))
    // Full-jitter backoff from 100 ms to 800 ms: a handful of attempts each, not a storm.
    expect(attempts).toBeGreaterThan(100)
    expect(attempts).toBeLessThan(100 * 12)
    const back = await startWsServer({ store: srv.store, port })
    running.push(() => back.close())
    await waitFor(() => back.ws.sockets === 100, 'every subscriber back', 15_000)
    const pusher = wsClient(back.url)
    running.push(() => pusher.close())
    await pusher.push([{ id: 'after', type: 'T', aggregateId: 'x', data: {} }])
    await waitFor(() => seen.every((ids) => ids.length === 1), 'the event everywhere')
    expect(seen.every((ids) => ids[0] === 'after')).toBe(true)
  })
})

describe('ws adversarial: before the welcome', () => {
  it('Given a socket that has not said hello, When it sends binary, not JSON or not a message, Then each is refused with an error and a 1008 close, as docs/protocol.md says', async () => {
    const srv = await server()
    for (const frame of [Buffer.from([1, 2, 3]), '{not json', '[1]', '{"type":7}']) {
      const socket = new WebSocket(`${srv.url}/v1/ws`, [WS_SUBPROTOCOL])
      running.push(async () => socket.terminate())
      const got: Record<string, unknown>[] = []
      socket.on('message', (data: Buffer) => got.push(JSON.parse(data.toString()) as never))
      const closed = new Promise<number>((resolve) => socket.on('close', resolve))
      await new Promise((resolve) => socket.once('open', resolve))
      socket.send(frame)
      expect(await closed).toBe(WS_CLOSE.refused)
      expect(got[0]).toMatchObject({ type: 'error', error: { code: 'protocol' } })
    }
    await waitFor(() => srv.ws.sockets === 0, 'every refused socket gone')
  })
})

describe('ws adversarial: the push limit of HTTP', () => {
  it('Given a handler with maxBodyBytes 16 KiB, When a 64 KiB push comes over WebSocket, Then it is refused as over HTTP (payload-too-large, nothing stored), the welcome announcing the same limit', async () => {
    const srv = await server({ handler: { maxBodyBytes: 16 * 1024 } })
    const big = [{ id: 'big', type: 'T', aggregateId: 'a', data: { text: 'x'.repeat(64 * 1024) } }]
    const http = await fetch(`${srv.httpUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: big }),
    })
    expect(http.status).toBe(413)
    const transport = wsClient(srv.url)
    running.push(() => transport.close())
    const refused = await transport.push(big).catch((e: unknown) => e)
    expect(isSyncKitError(refused, 'payload-too-large')).toBe(true)
    expect(transport.limits?.maxMessageBytes).toBe(16 * 1024)
    expect(await srv.store.load(null)).toEqual([])
  })

  it("Given a maxMessageBytes over the handler's body budget, When the server is created, Then it is refused: such a push could never be admitted", () => {
    const handler = createSyncHandler({
      store: createMemoryStore(),
      maxBodyBytes: 1024 * 1024,
      maxDecompressedBytes: 1024 * 1024,
      maxBufferedBodyBytes: 2 * 1024 * 1024,
    })
    expect(() => createWebSocketServer({ handler, maxMessageBytes: 4 * 1024 * 1024 })).toThrow(
      /maxMessageBytes.*maxBufferedBodyBytes/,
    )
    expect(() => createWebSocketServer({ handler, maxMessageBytes: 2 * 1024 * 1024 })).not.toThrow()
  })
})
