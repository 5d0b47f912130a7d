import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { RawData, WebSocket } from 'ws'
import { integerOption } from '../../core/options.js'
import { resolveTimers } from '../../core/timers.js'
import { toWireError } from '../../core/wire-error.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { isSameHost } from '../../server/index.js'
import type { SyncEndpoint } from '../../server/index.js'
import type { Timers } from '../../types/index.js'
import { WS_CLOSE, WS_PATH, WS_SUBPROTOCOL } from './protocol.js'
import type { WsLimits } from './protocol.js'
import { SERVER, Session } from './ws-session.js'
import type { SessionSettings } from './ws-session.js'

/**
 * The HTTP handler's default `maxBodyBytes`, 4 MiB: the default
 * {@link WebSocketServerOptions.maxMessageBytes} is the handler's `maxBodyBytes`, this unless it
 * sets another, so one push costs the server the same over both wires.
 * @example
 * ```ts
 * import { DEFAULT_MAX_MESSAGE_BYTES, createWebSocketServer } from 'sync-kit/ws/node'
 *
 * const ws = createWebSocketServer({ handler, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES / 4 })
 * ```
 */
export const DEFAULT_MAX_MESSAGE_BYTES: number = 4 * 1024 * 1024
/**
 * Default {@link WebSocketServerOptions.maxBufferedBytes}: 8 MiB queued to one socket (or twice
 * the handler's `maxPageBytes`, when that is larger). A reader that keeps up holds one batch or
 * page at a time; this leaves room for two of the default 4 MiB pages plus the small messages
 * between them.
 * @example
 * ```ts
 * import { DEFAULT_MAX_BUFFERED_BYTES, createWebSocketServer } from 'sync-kit/ws/node'
 *
 * const ws = createWebSocketServer({ handler, maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES / 2 })
 * ```
 */
export const DEFAULT_MAX_BUFFERED_BYTES: number = 8 * 1024 * 1024
/**
 * Default {@link WebSocketServerOptions.maxSubscriptions}: 16 subscriptions per socket (a
 * `SyncManager` holds one).
 * @example
 * ```ts
 * import { DEFAULT_MAX_SUBSCRIPTIONS, createWebSocketServer } from 'sync-kit/ws/node'
 *
 * const ws = createWebSocketServer({ handler, maxSubscriptions: DEFAULT_MAX_SUBSCRIPTIONS * 2 })
 * ```
 */
export const DEFAULT_MAX_SUBSCRIPTIONS = 16
/**
 * Default {@link WebSocketServerOptions.maxInFlight}: 16 requests of one socket in progress at
 * once; past it the socket is not read until one finishes.
 * @example
 * ```ts
 * import { DEFAULT_MAX_IN_FLIGHT, createWebSocketServer } from 'sync-kit/ws/node'
 *
 * const ws = createWebSocketServer({ handler, maxInFlight: DEFAULT_MAX_IN_FLIGHT / 2 })
 * ```
 */
export const DEFAULT_MAX_IN_FLIGHT = 16
/**
 * Default {@link WebSocketServerOptions.helloTimeoutMs}: 10 000 ms, as `serve`'s header timeout.
 * @example
 * ```ts
 * import { DEFAULT_HELLO_TIMEOUT_MS, createWebSocketServer } from 'sync-kit/ws/node'
 *
 * const ws = createWebSocketServer({ handler, helloTimeoutMs: DEFAULT_HELLO_TIMEOUT_MS * 2 })
 * ```
 */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000

/**
 * Options of {@link createWebSocketServer}.
 * @example
 * ```ts
 * import { createWebSocketServer, type WebSocketServerOptions } from 'sync-kit/ws/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const options: WebSocketServerOptions = {
 *   handler: createSyncHandler({ store: createMemoryStore() }),
 *   maxMessageBytes: 1024 * 1024,
 * }
 * const ws = createWebSocketServer(options)
 * ```
 */
export interface WebSocketServerOptions {
  /**
   * The HTTP handler (`createSyncHandler`) whose remote the sockets reach: its server core, its
   * `authorize` and `tenantOf`, limits, live-subscription slots (`maxStreams`, shared with SSE),
   * body budget, heartbeat, health and logger.
   */
  readonly handler: {
    /** The remote the handler serves (`SyncHandler.endpoint`). */
    readonly endpoint: SyncEndpoint
  }
  /**
   * The handler's `basePath`: the endpoint is `<basePath>/v1/ws`.
   * @defaultValue `''`
   */
  readonly basePath?: string
  /**
   * Largest message accepted, in bytes; announced in `welcome`, so the client splits its pushes to
   * fit. A larger message closes the socket with 1009. At most the handler's
   * `maxBufferedBodyBytes` (a push holds its bytes of that budget while it is handled).
   * @defaultValue the handler's `maxBodyBytes` (4 MiB, {@link DEFAULT_MAX_MESSAGE_BYTES}, unless
   * it sets another), so a push over the HTTP limit is refused over WebSocket too
   */
  readonly maxMessageBytes?: number
  /**
   * Most bytes queued to one socket (its `bufferedAmount`, bytes of UTF-8): a message that would
   * pass it closes the socket with 1013 instead, so a client that reads too slowly cannot grow the
   * server's memory; it reconnects and resumes from its cursor. At least the handler's
   * `maxPageBytes` (one page or live batch must fit). A live subscriber costs one batch at most
   * here anyway (the next goes after its `ack`); the bound is for replies to requests and for
   * clients that acknowledge what they did not read.
   * @defaultValue 8 MiB ({@link DEFAULT_MAX_BUFFERED_BYTES}), or twice the handler's
   * `maxPageBytes` when that is larger
   */
  readonly maxBufferedBytes?: number
  /**
   * Most subscriptions one socket may hold.
   * @defaultValue 16 ({@link DEFAULT_MAX_SUBSCRIPTIONS})
   */
  readonly maxSubscriptions?: number
  /**
   * Most requests of one socket in progress at once; past it the socket is not read until one
   * finishes (a flood waits in the client's own buffers).
   * @defaultValue 16 ({@link DEFAULT_MAX_IN_FLIGHT})
   */
  readonly maxInFlight?: number
  /**
   * A socket that sends nothing (not even a `pong`) for this long is closed (4000). The server
   * pings after the handler's `heartbeatMs` of silence, so a live client always answers in time;
   * at least twice `heartbeatMs`.
   * @defaultValue three times the handler's `heartbeatMs`
   */
  readonly idleTimeoutMs?: number
  /**
   * Longest wait for the `hello` after the upgrade, in ms; then the socket is closed (4000).
   * @defaultValue 10 000 ({@link DEFAULT_HELLO_TIMEOUT_MS})
   */
  readonly helloTimeoutMs?: number
  /** Timers for the heartbeat tick. @defaultValue the global `setTimeout`/`clearTimeout` */
  readonly timers?: Timers
}

/**
 * The WebSocket side of a sync server: give it to `serve({ upgrade })` (`sync-kit/http/node`),
 * or call `handleUpgrade` from a `node:http` server's `upgrade` event yourself.
 * @example
 * ```ts
 * import { createWebSocketServer, type WebSocketSyncServer } from 'sync-kit/ws/node'
 * import { createServer } from 'node:http'
 *
 * const ws: WebSocketSyncServer = createWebSocketServer({ handler })
 * const server = createServer(listener)
 * server.on('upgrade', (request, socket, head) => ws.handleUpgrade(request, socket, head))
 * ```
 */
export interface WebSocketSyncServer {
  /**
   * Takes one upgrade request: `<basePath>/v1/ws` with the `sync-kit.v1` subprotocol becomes a
   * session; anything else is refused (404, 400, 403 for a browser page of an origin the
   * handler's `cors` option does not allow, or 503 while shutting down) and its socket closed.
   * @param request - the upgrade request.
   * @param socket - its socket.
   * @param head - the first bytes after the headers.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Sockets open now. */
  readonly sockets: number
  /**
   * Closes every socket with 1001 (clients reconnect with backoff) and refuses new ones; resolves
   * once they closed (sockets that do not answer are cut after a second). Idempotent.
   */
  close(): Promise<void>
}

/**
 * Creates the WebSocket server of `docs/protocol.md` ("WebSocket") on the same remote as an HTTP
 * handler: every message maps onto the handler's server core (`handler.endpoint`) — the same
 * `authorize` and tenants, limits, epoch, drift and per-event refusals as HTTP, nothing of its
 * own but the wire (framing, request ids, heartbeats, the send buffer bound).
 * @param options - the handler, base path, message and buffer limits; see
 * {@link WebSocketServerOptions}.
 * @returns the server, for `serve({ upgrade })`.
 * @throws SyncKitError `invalid-argument` for a bad option, an `idleTimeoutMs` below twice the
 * handler's `heartbeatMs`, a `maxMessageBytes` over the handler's `maxBufferedBodyBytes`, or a
 * `maxBufferedBytes` below its `maxPageBytes`.
 * @example
 * ```ts
 * import { createSyncHandler } from 'sync-kit/http'
 * import { serve } from 'sync-kit/http/node'
 * import { createWebSocketServer } from 'sync-kit/ws/node'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore() })
 * const server = await serve({ handler, upgrade: createWebSocketServer({ handler }), port: 8787 })
 * // clients: createWebSocketTransport({ url: 'ws://127.0.0.1:8787' }) from 'sync-kit/ws'
 * ```
 */
export function createWebSocketServer(options: WebSocketServerOptions): WebSocketSyncServer {
  const name = 'ws-server'
  const { endpoint } = options.handler
  const basePath = options.basePath ?? ''
  const { access } = endpoint
  const maxMessageBytes = integerOption(
    options.maxMessageBytes,
    endpoint.maxBodyBytes,
    'maxMessageBytes',
    name,
  )
  if (maxMessageBytes > endpoint.bodyBudget.limit) {
    throw new SyncKitError(
      'invalid-argument',
      `${SERVER} option maxMessageBytes (${maxMessageBytes}) is over the handler's maxBufferedBodyBytes (${endpoint.bodyBudget.limit}): a push that large could never be admitted; raise the budget or lower the limit`,
      { argument: 'maxMessageBytes' },
    )
  }
  const limits: WsLimits = {
    maxMessageBytes,
    maxBatchEvents: access.maxBatchEvents,
    maxEventBytes: access.maxEventBytes,
    maxPageLimit: access.maxPageLimit,
    maxPageBytes: access.maxPageBytes,
    maxSubscriptions: integerOption(
      options.maxSubscriptions,
      DEFAULT_MAX_SUBSCRIPTIONS,
      'maxSubscriptions',
      name,
    ),
  }
  const settings: SessionSettings = {
    endpoint,
    limits,
    maxBufferedBytes: integerOption(
      options.maxBufferedBytes,
      Math.max(DEFAULT_MAX_BUFFERED_BYTES, 2 * access.maxPageBytes),
      'maxBufferedBytes',
      name,
    ),
    maxInFlight: integerOption(options.maxInFlight, DEFAULT_MAX_IN_FLIGHT, 'maxInFlight', name),
    idleTimeoutMs: integerOption(
      options.idleTimeoutMs,
      3 * endpoint.heartbeatMs,
      'idleTimeoutMs',
      name,
    ),
    helloTimeoutMs: integerOption(
      options.helloTimeoutMs,
      DEFAULT_HELLO_TIMEOUT_MS,
      'helloTimeoutMs',
      name,
    ),
  }
  if (settings.maxBufferedBytes < access.maxPageBytes) {
    // A page or live batch goes out whole: a bound below one would cut every reader that has a
    // byte still queued when the next one is due.
    throw new SyncKitError(
      'invalid-argument',
      `${SERVER} option maxBufferedBytes (${settings.maxBufferedBytes}) is below the handler's maxPageBytes (${access.maxPageBytes}): one page must fit; raise it or lower maxPageBytes`,
      { argument: 'maxBufferedBytes' },
    )
  }
  if (settings.idleTimeoutMs < 2 * endpoint.heartbeatMs) {
    // The server pings after heartbeatMs of silence: a shorter idle timeout would close a live,
    // answering client before its ping (and the client, taking the same timeout, would too).
    throw new SyncKitError(
      'invalid-argument',
      `${SERVER} option idleTimeoutMs (${settings.idleTimeoutMs}) must be at least twice the handler's heartbeatMs (${endpoint.heartbeatMs}), or idle clients are closed before they are pinged`,
      { argument: 'idleTimeoutMs' },
    )
  }
  const timers = resolveTimers(options.timers, undefined, name)
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxMessageBytes,
    clientTracking: false,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  })
  const sessions = new Map<WebSocket, Session>()
  let closing = false
  let timer: unknown
  const tickMs = Math.max(
    20,
    Math.floor(Math.min(endpoint.heartbeatMs, settings.idleTimeoutMs, settings.helloTimeoutMs) / 4),
  )
  const tick = (): void => {
    timer = undefined
    const now = endpoint.now()
    for (const session of sessions.values()) session.tick(now)
    schedule()
  }
  const schedule = (): void => {
    if (timer !== undefined || closing || sessions.size === 0) return
    timer = timers.setTimeout(tick, tickMs)
    ;(timer as { unref?: () => void }).unref?.()
  }

  const accept = (socket: WebSocket, request: IncomingMessage): void => {
    const session = new Session(socket, toRequest(request), settings)
    sessions.set(socket, session)
    schedule()
    socket.on('message', (data: RawData, binary: boolean) => {
      session.receive(binary ? '' : rawText(data), binary)
    })
    // `ws` reports a frame over maxPayload (it closes with 1009), bad UTF-8 (1007) or a broken
    // frame here, then closes the socket: nothing to store, nothing to crash.
    socket.on('error', () => undefined)
    socket.on('close', () => {
      sessions.delete(socket)
      session.closedByPeer()
    })
  }

  return {
    get sockets() {
      return sessions.size
    },
    handleUpgrade(request, socket, head) {
      socket.on('error', () => undefined)
      let path: string
      try {
        path = new URL(request.url ?? '/', 'http://localhost').pathname
      } catch {
        path = ''
      }
      if (path !== basePath + WS_PATH) {
        refuseUpgrade(
          socket,
          404,
          'protocol',
          `no WebSocket endpoint at ${path.slice(0, 200)}; it lives at ${basePath}${WS_PATH}`,
        )
        return
      }
      if (closing || endpoint.closing) {
        refuseUpgrade(socket, 503, 'unavailable', 'the server is shutting down; retry')
        return
      }
      // Browsers send Origin on a WebSocket upgrade and CORS does not apply to WebSockets: a page
      // of another origin may connect only when the handler's cors option allows it, as for HTTP.
      // Clients that are not browsers send no Origin.
      const origin = request.headers.origin
      if (
        origin !== undefined &&
        !isSameHost(origin, request.headers.host) &&
        !endpoint.origins.allows(origin)
      ) {
        const shown = origin.slice(0, 200)
        refuseUpgrade(
          socket,
          403,
          'forbidden',
          `origin ${JSON.stringify(shown)} may not open a WebSocket here; allow it with the HTTP handler's cors option (createSyncHandler({ cors: { origins: [${JSON.stringify(shown)}] } })) or sync-kit serve --cors ${shown}`,
        )
        return
      }
      const offered = String(request.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
      if (!offered.includes(WS_SUBPROTOCOL)) {
        refuseUpgrade(
          socket,
          400,
          'protocol',
          `offer the subprotocol ${WS_SUBPROTOCOL} (Sec-WebSocket-Protocol)`,
        )
        return
      }
      wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request))
    },
    async close() {
      if (closing) return
      closing = true
      if (timer !== undefined) timers.clearTimeout(timer)
      const open = [...sessions.entries()]
      const closed = open.map(
        ([socket]) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
      )
      for (const [, session] of open) session.close(WS_CLOSE.goingAway, 'server shutting down')
      let cut: unknown
      await Promise.race([
        Promise.all(closed),
        new Promise<void>((resolve) => (cut = timers.setTimeout(resolve, 1000))),
      ])
      timers.clearTimeout(cut)
      for (const [socket] of open) socket.terminate()
      wss.close()
    },
  }
}

/** The upgrade request as a Web `Request`, for the handler's `authorize`. */
function toRequest(request: IncomingMessage): Request {
  const headers = new Headers()
  for (const [key, value] of Object.entries(request.headers)) {
    if (value === undefined) continue
    try {
      headers.set(key, Array.isArray(value) ? value.join(', ') : value)
    } catch {
      // A header the Fetch API refuses: not one authorize could use.
    }
  }
  const host = /^[A-Za-z0-9.:[\]-]{1,300}$/.test(request.headers.host ?? '')
    ? (request.headers.host as string)
    : '127.0.0.1'
  let url: string
  try {
    url = new URL(request.url ?? '/', `http://${host}`).href
  } catch {
    url = `http://${host}/`
  }
  return new Request(url, { method: 'GET', headers })
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data as ArrayBuffer).toString('utf8')
}

/** Answers a refused upgrade with an HTTP error (the one body of every wire) and closes it. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const error = new SyncKitError(
    code === 'unavailable' ? 'unavailable' : code === 'forbidden' ? 'forbidden' : 'protocol',
    `${SERVER} ${message}`,
    {},
  )
  const body = JSON.stringify(toWireError(error, SERVER))
  const reason =
    status === 404
      ? 'Not Found'
      : status === 503
        ? 'Service Unavailable'
        : status === 403
          ? 'Forbidden'
          : 'Bad Request'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${status === 503 ? 'Retry-After: 1\r\n' : ''}\r\n${body}`,
  )
}
