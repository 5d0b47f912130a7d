import type { WireErrorBody } from '../../core/wire-error.js'

/**
 * The sync-kit WebSocket protocol, shared by the client (`sync-kit/ws`) and the server
 * (`sync-kit/ws/node`): the subprotocol, the path, close codes and message shapes. See
 * `docs/protocol.md`, "WebSocket". JSON text frames only; every request carries an `id` the reply
 * repeats, so several calls can be in flight on one socket.
 */

/**
 * The WebSocket subprotocol (`Sec-WebSocket-Protocol`) of version 1. A server that does not speak
 * it refuses the upgrade; a later version gets a new name, so client and server agree before the
 * first message.
 * @example
 * ```ts
 * import { WS_SUBPROTOCOL } from 'sync-kit/ws'
 *
 * const socket = new WebSocket('wss://sync.example.com/v1/ws', [WS_SUBPROTOCOL])
 * ```
 */
export const WS_SUBPROTOCOL = 'sync-kit.v1'

/** The protocol version the `hello` and `welcome` messages name. */
export const WS_PROTOCOL_VERSION = 1

/** The path of the WebSocket endpoint under the server's base path. */
export const WS_PATH = '/v1/ws'

/**
 * Close codes of the protocol (RFC 6455 §7.4 and the private range 4000–4999).
 * @example
 * ```ts
 * import { WS_CLOSE } from 'sync-kit/ws'
 *
 * socket.addEventListener('close', (e) => {
 *   if (e.code === WS_CLOSE.slowConsumer) console.warn('reading too slowly; resuming from the cursor')
 * })
 * ```
 */
export const WS_CLOSE: {
  /** The client closed (transport closed). */
  readonly normal: 1000
  /** The server shuts down: reconnect with backoff. */
  readonly goingAway: 1001
  /** The hello was refused (see the `error` message before it): do not reconnect. */
  readonly refused: 1008
  /** A message over the server's `maxMessageBytes`: the calls in flight fail, nothing is re-sent. */
  readonly tooBig: 1009
  /** A server bug. */
  readonly internal: 1011
  /**
   * Try again later: the socket's send buffer passed the server's `maxBufferedBytes` (the client
   * reads too slowly). Reconnect with backoff; subscriptions resume from their cursor.
   */
  readonly slowConsumer: 1013
  /** Nothing arrived for the idle timeout (no hello, no pong): reconnect. */
  readonly idle: 4000
} = {
  normal: 1000,
  goingAway: 1001,
  refused: 1008,
  tooBig: 1009,
  internal: 1011,
  slowConsumer: 1013,
  idle: 4000,
}

/** A request id: a non-negative safe integer or a string of 1–64 characters. */
export type RequestId = number | string

/** The server's limits, announced in `welcome`. */
export interface WsLimits {
  /** Largest message the server accepts, in bytes of UTF-8; a larger one closes the socket (1009). */
  readonly maxMessageBytes: number
  /** Most events in one push. */
  readonly maxBatchEvents: number
  /** Largest single event, in bytes of its JSON. */
  readonly maxEventBytes: number
  /** Largest page a pull returns. */
  readonly maxPageLimit: number
  /** Byte budget of one page or live batch. */
  readonly maxPageBytes: number
  /** Most subscriptions one socket may hold. */
  readonly maxSubscriptions: number
}

/** The server's answer to `hello`. */
export interface WelcomeMessage {
  readonly type: 'welcome'
  readonly protocol: number
  readonly epoch: string
  readonly latestVersion: string
  /** The server sends a `ping` after this much silence, in ms. */
  readonly heartbeatMs: number
  /** Either side closes a socket silent for this long, in ms. */
  readonly idleTimeoutMs: number
  readonly limits: WsLimits
}

/** The answer to one request. */
export interface ResultMessage {
  readonly type: 'result'
  readonly id: RequestId
  readonly result: unknown
}

/** A batch of a subscription; the client answers `ack` once it handled it. */
export interface EventsMessage {
  readonly type: 'events'
  readonly sub: RequestId
  readonly events: readonly unknown[]
}

/**
 * A refusal: of request `id`, of subscription `sub` (which ended), or of the connection (neither:
 * a frame that could not be read).
 */
export interface ErrorMessage extends WireErrorBody {
  readonly type: 'error'
  readonly id?: RequestId
  readonly sub?: RequestId
}

/** Every message the server sends. */
export type ServerMessage =
  WelcomeMessage | ResultMessage | EventsMessage | ErrorMessage | { readonly type: 'ping' | 'pong' }

/** A filter as it travels. */
export interface WireFilter {
  readonly key: string
  readonly value: string
}

/** Most filters in one pull or subscribe. */
export const MAX_WS_FILTERS = 64
/** Longest filter value. */
export const MAX_WS_FILTER_VALUE_LENGTH = 1024
/** Most headers a `hello` may carry, and the longest name or value. */
export const MAX_HELLO_HEADERS = 64
/** Longest header value in a `hello`. */
export const MAX_HELLO_HEADER_LENGTH = 8192

/**
 * Tells whether a value is a valid request id.
 * @param value - the `id` (or `sub`) of a message.
 * @returns true for a non-negative safe integer or a string of 1–64 characters.
 */
export function isRequestId(value: unknown): value is RequestId {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0
  return typeof value === 'string' && value.length > 0 && value.length <= 64
}

/**
 * Tells whether a value is a plain JSON object (not an array, not null).
 * @param value - a parsed JSON value.
 * @returns true for an object.
 */
export function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const utf8 = new TextEncoder()

/**
 * The size of a message on the wire.
 * @param text - the message's JSON.
 * @returns its bytes of UTF-8.
 */
export function messageBytes(text: string): number {
  return utf8.encode(text).byteLength
}
