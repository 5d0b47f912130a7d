import {
  callHeaders,
  checkClientUrl,
  checkHandler,
  checkPushCall,
  ensureOpen as checkOpen,
  remoteVersion,
} from '../../core/client-calls.js'
import type { RemoteClientOptions } from '../../core/client-calls.js'
import { validateLimit } from '../../core/filters.js'
import { integerOption } from '../../core/options.js'
import { pushInParts } from '../../core/push-split.js'
import { nextRetryWait, resolveRetry } from '../../core/retry.js'
import type { RetryBudget } from '../../core/retry.js'
import { resolveTimers } from '../../core/timers.js'
import { delay, throwIfAborted, untilAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Event,
  EventHandler,
  Filter,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
  SignalOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  Version,
} from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { WS_CLOSE, WS_PATH, messageBytes } from './protocol.js'
import type { RequestId, WsLimits } from './protocol.js'
import { CLIENT, WsConnection } from './ws-connection.js'
import type { WebSocketConstructor } from './ws-connection.js'
import { checkLatestResult, checkPullResult, checkPushResult } from './ws-results.js'
import { WsSubscription } from './ws-subscription.js'

export type { WebSocketConstructor } from './ws-connection.js'

/** Names the client in option errors. */
const COMPONENT = 'ws-client'

/**
 * Default {@link WebSocketTransportOptions.timeoutMs}: 30 000.
 * @example
 * ```ts
 * import { createWebSocketTransport, DEFAULT_WS_TIMEOUT_MS } from 'sync-kit/ws'
 *
 * const transport = createWebSocketTransport({ url: 'wss://sync.example.com', timeoutMs: 2 * DEFAULT_WS_TIMEOUT_MS })
 * ```
 */
export const DEFAULT_WS_TIMEOUT_MS = 30_000

/** Headers for the hello: a record of strings. */
export type WsHeaders = Readonly<Record<string, string>>

/**
 * Options of {@link createWebSocketTransport}.
 * @example
 * ```ts
 * import { createWebSocketTransport, type WebSocketTransportOptions } from 'sync-kit/ws'
 *
 * const options: WebSocketTransportOptions = {
 *   url: 'wss://api.example.com/sync',
 *   headers: () => ({ authorization: `Bearer ${localStorage.getItem('token') ?? ''}` }),
 *   retry: { retries: 6, maxMs: 30_000 },
 * }
 * const transport = createWebSocketTransport(options)
 * ```
 */
export interface WebSocketTransportOptions extends RemoteClientOptions {
  /**
   * The server's base URL including its `basePath`: `ws:` or `wss:` (or `http:`/`https:`, turned
   * into `ws:`/`wss:`), e.g. `wss://api.example.com/sync`; the client appends `/v1/ws`.
   */
  readonly url: string
  /**
   * The WebSocket constructor: pass the `ws` package's `WebSocket` on Node 20 (which has no
   * global one).
   * @defaultValue `globalThis.WebSocket` (browsers, Node ≥ 22, Deno, Bun)
   */
  readonly WebSocket?: WebSocketConstructor
  /**
   * Headers the server's `authorize` sees (sent in the hello, since browsers cannot set headers
   * on a WebSocket), or a callback giving them for each new connection (so a refreshed token is
   * picked up on reconnect). A callback that throws fails the call with `unauthorized`.
   * @defaultValue none
   */
  readonly headers?: WsHeaders | (() => WsHeaders | Promise<WsHeaders>)
  /**
   * Time limit of connecting (until the welcome) and of each call's answer, in ms.
   * @defaultValue 30 000 ({@link DEFAULT_WS_TIMEOUT_MS})
   */
  readonly timeoutMs?: number
}

/**
 * The WebSocket client transport: a `Transport` whose `subscribe` is always present.
 * @example
 * ```ts
 * import { createWebSocketTransport, type WebSocketTransport } from 'sync-kit/ws'
 *
 * const transport: WebSocketTransport = createWebSocketTransport({ url: 'wss://sync.example.com' })
 * const live = await transport.subscribe((batch) => console.log(batch.length, transport.limits))
 * await live.unsubscribe()
 * ```
 */
export interface WebSocketTransport extends Transport {
  /**
   * Live delivery on the transport's socket, resuming after a reconnect from the last delivered
   * event (nothing lost or repeated). Resolves once the server accepted the subscription; until
   * then transient failures are retried like any call (`retry.retries`), then it rejects.
   * Afterwards each failure goes to `onError` and the subscription reconnects with backoff until
   * stopped; a non-transient one (a changed epoch, a handler that throws) ends it.
   * @param handler - receives batches, awaited before the next one.
   * @param options - `since`, filters, `signal`, `onError`.
   * @returns the subscription.
   * @throws SyncKitError `unavailable`, `timeout`, `unauthorized`, `forbidden`, `protocol`,
   * `transport-closed`, `aborted`.
   */
  subscribe(handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>
  /** The endpoint URL, `<url>/v1/ws`. */
  readonly url: string
  /** The server's epoch as last reported, or `undefined` before the first answer. */
  readonly epoch: string | undefined
  /** The limits the server announced on the current connection, or `undefined` before. */
  readonly limits: WsLimits | undefined
}

/**
 * Creates the WebSocket client transport (`docs/protocol.md`, "WebSocket"): push, paged pull,
 * latest version and live subscribe on one socket, several calls in flight at once, against the
 * WebSocket server of `sync-kit/ws/node` (mounted beside `createSyncHandler`). Built on the
 * standard `WebSocket` only.
 *
 * A push is split in halves (recursively) before sending until each message fits the
 * `maxMessageBytes` and `maxBatchEvents` the server announced, so an over-large message never
 * ends in a close and the same message again; a single event that cannot fit fails with
 * `payload-too-large` naming it (`details.eventId`), as over HTTP.
 *
 * Retries — one layer per path, as the HTTP client's: a call is retried here up to
 * `retry.retries` times (the parts of a split push share one budget); the socket is (re)opened
 * by whichever call or subscription needs it, each with its own backoff; an established
 * subscription reconnects itself until stopped.
 *
 * @param options - the server URL, the WebSocket constructor, auth headers, timeouts, retries.
 * @returns the transport.
 * @throws SyncKitError `invalid-argument` for a bad URL or option, or no `WebSocket` to use.
 * @example
 * ```ts
 * import { createWebSocketTransport } from 'sync-kit/ws'
 * import { WebSocket } from 'ws' // Node 20 only
 *
 * const transport = createWebSocketTransport({ url: 'ws://127.0.0.1:8787', WebSocket })
 * await transport.push([{ id: 'e1', type: 'TodoAdded', aggregateId: 'todo-1', data: {} }])
 * ```
 */
export function createWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const url = endpointUrl(options.url)
  const WebSocketImpl =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocketImpl !== 'function') {
    throw new SyncKitError(
      'invalid-argument',
      `${CLIENT} this runtime has no global WebSocket (Node 20); pass one: createWebSocketTransport({ url, WebSocket }) with WebSocket from the ws package`,
      { argument: 'WebSocket' },
    )
  }
  const timeoutMs = integerOption(options.timeoutMs, DEFAULT_WS_TIMEOUT_MS, 'timeoutMs', COMPONENT)
  const pageLimit = integerOption(options.pageLimit, 500, 'pageLimit', COMPONENT)
  const retry = resolveRetry(options.retry, COMPONENT)
  const random = options.random ?? Math.random
  const timers = resolveTimers(options.timers, undefined, COMPONENT)
  const parseRemoteVersion =
    options.parseVersion ?? ((value: string) => SequenceVersion.parse(value))
  const lifetime = new AbortController()
  const subscriptions = new Set<WsSubscription>()
  let epoch: string | undefined
  let connection: WsConnection | undefined
  let nextId = 0
  const newId = (): RequestId => ++nextId

  const ensureOpen = (what: string): void => checkOpen(lifetime.signal, what, CLIENT)
  const hello = (): Promise<WsHeaders> => callHeaders(options.headers, CLIENT)

  /** The open, welcomed connection: the current one, or a new one when it ended. */
  async function connect(signal: AbortSignal | undefined): Promise<WsConnection> {
    ensureOpen('connect')
    let current = connection
    if (current === undefined || current.ended) {
      const headers = await untilAborted(hello(), signal, `${CLIENT} connect`)
      ensureOpen('connect')
      current = connection
      if (current === undefined || current.ended) {
        current = new WsConnection({
          url,
          WebSocket: WebSocketImpl as WebSocketConstructor,
          headers,
          timeoutMs,
          timers,
        })
        connection = current
      }
    }
    const welcome = await untilAborted(current.ready, signal, `${CLIENT} connect`)
    epoch = welcome.epoch
    return current
  }

  const toVersion = (value: string, what: string): Version =>
    remoteVersion(parseRemoteVersion, value, what, CLIENT)

  /**
   * One call: sends `build(id)` on the connection and waits for its answer, retrying transient
   * failures within the call's budget.
   */
  async function call(
    what: string,
    signal: AbortSignal | undefined,
    build: (id: RequestId, limits: WsLimits) => string,
    budget: RetryBudget = { used: 0 },
  ): Promise<unknown> {
    for (;;) {
      ensureOpen(what)
      throwIfAborted(signal, `${CLIENT} ${what}`)
      let failure: SyncKitError
      try {
        const current = await connect(signal)
        const id = newId()
        const text = build(id, current.limits as WsLimits)
        try {
          return await untilAborted(
            current.request(id, text, timeoutMs),
            signal,
            `${CLIENT} ${what}`,
          )
        } finally {
          current.forget(id)
        }
      } catch (error) {
        if (lifetime.signal.aborted && !isSyncKitError(error, 'transport-closed')) {
          throw new SyncKitError(
            'transport-closed',
            `${CLIENT} ${what} was cut short by close()`,
            {},
            { cause: error },
          )
        }
        if (!isSyncKitError(error) || !error.transient) throw error
        failure = error
      }
      const wait = nextRetryWait(budget, undefined, retry, random)
      if (wait === undefined) throw failure
      await delay(wait, signal, timers.setTimeout, timers.clearTimeout)
    }
  }

  const transport: WebSocketTransport = {
    url,
    get epoch() {
      return epoch
    },
    get limits() {
      return connection?.limits
    },

    async push(events: readonly Event[], opts?: PushOptions): Promise<PushResult> {
      ensureOpen('push')
      throwIfAborted(opts?.signal, `${CLIENT} push`)
      const ifEpoch = opts?.ifEpoch
      const checked = checkPushCall(events, ifEpoch, CLIENT, COMPONENT)
      const signal = opts?.signal
      const budget: RetryBudget = { used: 0 }
      // A part over the limits of the server it goes to (announced in its welcome) is refused
      // before it is sent, with payload-too-large, which the split answers with halves.
      const result = await pushInParts(checked, ifEpoch, async (part, partEpoch) => {
        const answer = await call(
          'push',
          signal,
          (id, limits) => {
            const text = JSON.stringify({
              type: 'push',
              id,
              events: part,
              ...(partEpoch === undefined ? {} : { ifEpoch: partEpoch }),
            })
            if (
              part.length > limits.maxBatchEvents ||
              messageBytes(text) > limits.maxMessageBytes
            ) {
              throw tooLarge(part, limits, text)
            }
            return text
          },
          budget,
        )
        return checkPushResult(answer)
      })
      epoch = result.epoch
      return result
    },

    async pull(since: Version | null, opts?: PullOptions): Promise<PullResult> {
      ensureOpen('pull')
      throwIfAborted(opts?.signal, `${CLIENT} pull`)
      const limit = validateLimit(opts?.limit, COMPONENT) ?? pageLimit
      const filters = checkFilters(opts?.filters)
      const answer = await call('pull', opts?.signal, (id) =>
        JSON.stringify({
          type: 'pull',
          id,
          limit,
          ...(since === null ? {} : { since: since.toString() }),
          ...(filters.length === 0 ? {} : { filters }),
        }),
      )
      const page = checkPullResult(answer, (value) => toVersion(value, 'pull'))
      epoch = page.epoch
      return page
    },

    async latestVersion(opts?: SignalOptions): Promise<Version> {
      ensureOpen('latestVersion')
      throwIfAborted(opts?.signal, `${CLIENT} latestVersion`)
      const answer = await call('latestVersion', opts?.signal, (id) =>
        JSON.stringify({ type: 'latest', id }),
      )
      const head = checkLatestResult(answer)
      epoch = head.epoch
      return toVersion(head.latestVersion, 'latestVersion')
    },

    async subscribe(handler: EventHandler, opts: SubscribeOptions = {}): Promise<Subscription> {
      ensureOpen('subscribe')
      throwIfAborted(opts.signal, `${CLIENT} subscribe`)
      checkHandler(handler, CLIENT)
      const subscription = new WsSubscription({
        handler,
        since: opts.since ?? undefined,
        filters: checkFilters(opts.filters),
        knownEpoch: epoch,
        signal: opts.signal,
        onError: opts.onError,
        connect,
        nextId: newId,
        toVersion: (value) => toVersion(value, 'subscribe'),
        onEpoch: (value) => {
          epoch = value
        },
        lifetime: lifetime.signal,
        retry,
        random,
        timers,
        timeoutMs,
        onEnd: (sub) => subscriptions.delete(sub),
      })
      subscriptions.add(subscription)
      await subscription.started
      return subscription
    },

    parseVersion(value: string): Version {
      return parseRemoteVersion(value)
    },

    async close(): Promise<void> {
      if (lifetime.signal.aborted) return
      lifetime.abort()
      const closed = new SyncKitError('transport-closed', `${CLIENT} the transport was closed`, {})
      await Promise.all([...subscriptions].map((sub) => sub.unsubscribe()))
      connection?.close(WS_CLOSE.normal, closed)
    },
  }
  return transport
}

/**
 * A part that does not fit the server's limits: refused here, never sent (so never a close with
 * 1009 and the same message again). A part of several events is split by the caller; a single
 * event is refused, naming it.
 */
function tooLarge(part: readonly Event[], limits: WsLimits, text: string): SyncKitError {
  const eventId = part.length === 1 ? (part[0]?.id ?? '') : ''
  if (eventId === '') {
    return new SyncKitError(
      'payload-too-large',
      `${CLIENT} a push of ${part.length} events is over this server's limits (${limits.maxBatchEvents} events, ${limits.maxMessageBytes} bytes per message); split it`,
      { limitBytes: limits.maxMessageBytes },
    )
  }
  return new SyncKitError(
    'payload-too-large',
    `${CLIENT} event "${eventId.slice(0, 100)}" takes a message of ${messageBytes(text)} bytes, over this server's limit of ${limits.maxMessageBytes} bytes per message; it was not sent — store large blobs elsewhere and reference them`,
    { limitBytes: limits.maxMessageBytes, ...(eventId === '' ? {} : { eventId }) },
  )
}

function checkFilters(filters: readonly Filter[] | undefined): readonly Filter[] {
  for (const filter of filters ?? []) {
    if (
      typeof filter !== 'object' ||
      filter === null ||
      typeof filter.key !== 'string' ||
      typeof filter.value !== 'string' ||
      filter.key === ''
    ) {
      throw new SyncKitError(
        'invalid-argument',
        `${CLIENT} a filter must be { key: string, value: string } with a non-empty key`,
        { argument: 'filters' },
      )
    }
  }
  return (filters ?? []).map(({ key, value }) => ({ key, value }))
}

/**
 * Checks the `url` option and appends the endpoint's path.
 * @param url - the server's base URL.
 * @returns `<ws(s) url>/v1/ws`.
 * @throws SyncKitError `invalid-argument` unless an absolute ws(s) or http(s) URL without query or
 * fragment.
 */
function endpointUrl(url: string): string {
  const parsed = checkClientUrl(url, ['ws:', 'wss:', 'http:', 'https:'], CLIENT)
  const scheme = parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? 'wss:' : 'ws:'
  const base = `${scheme}//${parsed.host}${parsed.pathname}`.replace(/\/+$/, '')
  return base + WS_PATH
}
