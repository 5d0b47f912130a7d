import { crossOriginHint } from '../../core/client-calls.js'
import { errorFromWire } from '../../core/wire-error.js'
import type { WireDetails } from '../../core/wire-error.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Timers } from '../../types/index.js'
import { WS_CLOSE, WS_PROTOCOL_VERSION, WS_SUBPROTOCOL, isObject, isRequestId } from './protocol.js'
import type { RequestId, WelcomeMessage, WsLimits } from './protocol.js'

/** The tag of every message the WebSocket client writes. */
export const CLIENT = '[sync-kit] [ws-client]'

/**
 * What the client needs of a WebSocket: the standard API (browsers, Node ≥ 22, the `ws`
 * package's `WebSocket`).
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: string, listener: (event: never) => void): void
}

/** A WebSocket constructor: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => object

/** Receives what the server sends to one subscription. */
export interface SubscriptionRoute {
  /** A batch (raw `{event, version}` items, checked by the receiver). */
  events(items: readonly unknown[]): void
  /** The server ended the subscription with an error. */
  error(error: SyncKitError): void
  /** The connection ended. */
  closed(error: SyncKitError): void
}

interface Pending {
  resolve(result: unknown): void
  reject(error: unknown): void
}

/** What a connection needs from its transport. */
export interface ConnectionConfig {
  readonly url: string
  readonly WebSocket: WebSocketConstructor
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly timers: Timers
}

/**
 * One socket of the WebSocket client: the hello and the server's welcome (its epoch and limits),
 * replies routed to their request by id, batches to their subscription, `pong` for the server's
 * `ping`, and an idle timer: a socket that brings nothing (not even a ping) for the server's
 * announced `idleTimeoutMs` is taken for dead and closed. Every call in flight fails when the
 * socket ends: transient (`unavailable`) unless the server refused the hello (its error) or
 * closed it for a message over its limit (`payload-too-large`, which is not re-sent, so a too
 * large message never loops).
 */
export class WsConnection {
  /** Resolves with the welcome, or rejects when the socket ends before it. */
  readonly ready: Promise<WelcomeMessage>
  readonly #socket: WebSocketLike
  readonly #config: ConnectionConfig
  readonly #pending = new Map<RequestId, Pending>()
  readonly #routes = new Map<RequestId, SubscriptionRoute>()
  #welcome: WelcomeMessage | undefined
  #ended: SyncKitError | undefined
  /** The error the server sent before closing (a refused hello). */
  #refusal: SyncKitError | undefined
  #idle: unknown
  #resolveReady!: (welcome: WelcomeMessage) => void
  #rejectReady!: (error: unknown) => void

  /**
   * Opens the socket and sends the hello.
   * @param config - URL, constructor, the hello's headers, timeouts.
   */
  constructor(config: ConnectionConfig) {
    this.#config = config
    this.ready = new Promise<WelcomeMessage>((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // Handled by every caller; never an unhandled rejection when none is waiting.
    this.ready.catch(() => undefined)
    let socket: WebSocketLike
    try {
      socket = new config.WebSocket(config.url, [WS_SUBPROTOCOL]) as WebSocketLike
    } catch (error) {
      throw new SyncKitError(
        'invalid-argument',
        `${CLIENT} could not open a WebSocket to ${config.url}: ${error instanceof Error ? error.message : String(error)}`,
        { argument: 'url' },
        { cause: error },
      )
    }
    this.#socket = socket
    this.#arm(config.timeoutMs, 'no welcome')
    socket.addEventListener('open', () => {
      this.#send({ type: 'hello', protocol: WS_PROTOCOL_VERSION, headers: config.headers })
    })
    socket.addEventListener('message', (event: { readonly data: unknown }) => {
      this.#receive(event.data)
    })
    socket.addEventListener('close', (event: { readonly code: number; readonly reason: string }) =>
      this.#end(this.#closeError(event.code, event.reason)),
    )
    // An error event is followed by close; nothing to do here but not crash.
    socket.addEventListener('error', () => undefined)
  }

  /** The server's welcome, once it arrived. */
  get welcome(): WelcomeMessage | undefined {
    return this.#welcome
  }

  /** The server's limits, once welcomed. */
  get limits(): WsLimits | undefined {
    return this.#welcome?.limits
  }

  /** True once the socket ended (or is ending). */
  get ended(): boolean {
    return this.#ended !== undefined
  }

  /**
   * Sends a request and waits for its reply.
   * @param id - the request id (unique on this connection).
   * @param text - the message's JSON.
   * @param timeoutMs - how long to wait for the reply.
   * @returns the reply's `result`.
   * @throws SyncKitError the server's error for the request; `timeout`; what ended the socket.
   */
  request(id: RequestId, text: string, timeoutMs: number): Promise<unknown> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended)
    const { timers } = this.#config
    return new Promise<unknown>((resolve, reject) => {
      const timer = timers.setTimeout(() => {
        this.#pending.delete(id)
        reject(
          new SyncKitError(
            'timeout',
            `${CLIENT} no answer within ${timeoutMs} ms; the server may be overloaded, retry later`,
            { timeoutMs },
          ),
        )
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (value) => {
          timers.clearTimeout(timer)
          resolve(value)
        },
        reject: (error) => {
          timers.clearTimeout(timer)
          reject(error)
        },
      })
      this.#sendText(text)
    })
  }

  /**
   * Forgets a request whose caller stopped waiting (aborted): its reply is dropped.
   * @param id - the request id.
   */
  forget(id: RequestId): void {
    this.#pending.delete(id)
  }

  /**
   * Routes the batches and errors of subscription `id` to `route` (before its request is sent).
   * @param id - the subscribe request's id.
   * @param route - the receiver.
   */
  route(id: RequestId, route: SubscriptionRoute): void {
    this.#routes.set(id, route)
  }

  /**
   * Stops routing subscription `id`, and tells the server when the socket is open.
   * @param id - the subscription.
   * @param unsubscribeId - a fresh request id for the `unsubscribe` message.
   */
  unroute(id: RequestId, unsubscribeId: RequestId): void {
    if (!this.#routes.delete(id) || this.#ended !== undefined) return
    this.#send({ type: 'unsubscribe', id: unsubscribeId, sub: id })
  }

  /**
   * Sends a fire-and-forget message (an `ack`).
   * @param message - the message.
   */
  send(message: Readonly<Record<string, unknown>>): void {
    this.#send(message)
  }

  /**
   * Closes the socket; every call in flight fails with `error`.
   * @param code - the close code.
   * @param error - what the calls in flight fail with.
   */
  close(code: number, error: SyncKitError): void {
    this.#end(error)
    try {
      this.#socket.close(code)
    } catch {
      // The standard WebSocket (browsers, Node >= 22) refuses codes other than 1000 and
      // 3000-4999 (1008 of a server that sent garbage): close without one rather than leave the
      // socket open; a socket not open yet or already closed throws again, harmlessly.
      try {
        this.#socket.close()
      } catch {
        // Already closed.
      }
    }
  }

  #send(message: Readonly<Record<string, unknown>>): void {
    this.#sendText(JSON.stringify(message))
  }

  #sendText(text: string): void {
    if (this.#ended !== undefined || this.#socket.readyState !== 1) return
    try {
      this.#socket.send(text)
    } catch {
      // The close event follows.
    }
  }

  /** (Re)arms the idle timer: the socket is dead when nothing arrives for `ms`. */
  #arm(ms: number, what: string): void {
    const { timers } = this.#config
    timers.clearTimeout(this.#idle)
    this.#idle = timers.setTimeout(() => {
      this.close(
        WS_CLOSE.idle,
        new SyncKitError(
          'timeout',
          `${CLIENT} ${what} within ${ms} ms; the connection is taken for dead, reconnecting`,
          { timeoutMs: ms },
        ),
      )
    }, ms)
  }

  #receive(data: unknown): void {
    if (this.#ended !== undefined) return
    const welcome = this.#welcome
    this.#arm(
      welcome === undefined ? this.#config.timeoutMs : welcome.idleTimeoutMs,
      'nothing arrived',
    )
    let message: unknown
    try {
      message = typeof data === 'string' ? (JSON.parse(data) as unknown) : undefined
    } catch {
      message = undefined
    }
    if (!isObject(message) || typeof message.type !== 'string') {
      this.close(WS_CLOSE.refused, protocolError('the server sent a frame that is not a message'))
      return
    }
    switch (message.type) {
      case 'welcome': {
        const checked = checkWelcome(message)
        if (checked === undefined) {
          this.close(WS_CLOSE.refused, protocolError('the welcome message has an unexpected shape'))
          return
        }
        this.#welcome = checked
        this.#arm(checked.idleTimeoutMs, 'nothing arrived')
        this.#resolveReady(checked)
        return
      }
      case 'result': {
        const pending = isRequestId(message.id) ? this.#pending.get(message.id) : undefined
        if (pending === undefined || !isRequestId(message.id)) return
        this.#pending.delete(message.id)
        pending.resolve(message.result)
        return
      }
      case 'events': {
        const route = isRequestId(message.sub) ? this.#routes.get(message.sub) : undefined
        if (route !== undefined && Array.isArray(message.events)) route.events(message.events)
        return
      }
      case 'error':
        return this.#error(message)
      case 'ping':
        return this.#send({ type: 'pong' })
      default:
      // `pong` and message types of later versions are ignored.
    }
  }

  #error(message: Readonly<Record<string, unknown>>): void {
    const error = wireError(message.error)
    if (isRequestId(message.id)) {
      const pending = this.#pending.get(message.id)
      this.#pending.delete(message.id)
      pending?.reject(error)
      return
    }
    if (isRequestId(message.sub)) {
      const route = this.#routes.get(message.sub)
      this.#routes.delete(message.sub)
      route?.error(error)
      return
    }
    // About the connection (a refused hello): the close follows.
    this.#refusal = error
  }

  #closeError(code: number, reason: string): SyncKitError {
    const why = reason === '' ? '' : ` (${reason.slice(0, 200)})`
    if (code === WS_CLOSE.refused && this.#refusal !== undefined) return this.#refusal
    if (code === WS_CLOSE.tooBig) {
      return new SyncKitError(
        'payload-too-large',
        `${CLIENT} the server closed the socket for a message over its limit${why}; it is not sent again`,
        { limitBytes: this.#welcome?.limits.maxMessageBytes ?? 0 },
      )
    }
    if (code === WS_CLOSE.refused) {
      return protocolError(
        `the server refused the connection${why}; are client and server versions compatible?`,
      )
    }
    return new SyncKitError(
      'unavailable',
      `${CLIENT} the connection to ${this.#config.url} closed (${code})${why}; reconnecting${
        // Refused before the welcome, in a browser: perhaps the server's Origin check (403).
        this.#welcome === undefined && code === 1006 ? crossOriginHint(this.#config.url) : ''
      }`,
      {},
    )
  }

  #end(error: SyncKitError): void {
    if (this.#ended !== undefined) return
    this.#ended = error
    this.#config.timers.clearTimeout(this.#idle)
    this.#rejectReady(error)
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const call of pending) call.reject(error)
    const routes = [...this.#routes.values()]
    this.#routes.clear()
    for (const route of routes) route.closed(error)
  }
}

function protocolError(message: string): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${CLIENT} ${message}`, {})
}

/** The `SyncKitError` of a server's error body. */
function wireError(body: unknown): SyncKitError {
  if (!isObject(body) || typeof body.code !== 'string' || typeof body.message !== 'string') {
    return protocolError('the server sent an error without a code')
  }
  const details: Record<string, string | number> = {}
  if (isObject(body.details)) {
    for (const [key, value] of Object.entries(body.details)) {
      if (typeof value === 'string' || typeof value === 'number') details[key] = value
    }
  }
  const message = `${CLIENT} ${body.message.replace(/^\[sync-kit\] /, '').slice(0, 1000)}`
  return errorFromWire(body.code, message, details as WireDetails)
}

function checkWelcome(message: Readonly<Record<string, unknown>>): WelcomeMessage | undefined {
  const { epoch, latestVersion, heartbeatMs, idleTimeoutMs, limits } = message
  const positive = (value: unknown): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value > 0
  if (typeof epoch !== 'string' || epoch === '' || typeof latestVersion !== 'string')
    return undefined
  if (!positive(heartbeatMs) || !positive(idleTimeoutMs) || !isObject(limits)) return undefined
  const keys = [
    'maxMessageBytes',
    'maxBatchEvents',
    'maxEventBytes',
    'maxPageLimit',
    'maxPageBytes',
    'maxSubscriptions',
  ] as const
  for (const key of keys) if (!positive(limits[key])) return undefined
  return {
    type: 'welcome',
    protocol: WS_PROTOCOL_VERSION,
    epoch,
    latestVersion,
    heartbeatMs,
    idleTimeoutMs,
    limits: limits as unknown as WsLimits,
  }
}
