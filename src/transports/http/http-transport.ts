import { integerOption } from '../../core/options.js'
import { checkHandler, checkPushCall, remoteVersion } from '../../core/client-calls.js'
import type { RemoteClientOptions } from '../../core/client-calls.js'
import { validateLimit } from '../../core/filters.js'
import { TIMER_RENAMES, refuseRenamedOptions } from '../../core/options.js'
import { resolveTimers } from '../../core/timers.js'
import { throwIfAborted, untilAborted } from '../../errors/abort.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Clock,
  Event,
  EventHandler,
  EventWithVersion,
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
import { CLIENT, checkUrl, createRequestLayer, filtersQuery } from './http-request.js'
import type { HttpHeaders } from './http-request.js'
import { ROUTES } from './protocol.js'
import { pushInParts } from './push-split.js'
import { resolveRetry } from './retry.js'
import { pullResponseSchema, versionResponseSchema } from './schemas.js'
import { SseSubscription } from './sse-subscription.js'

export type { HttpHeaders } from './http-request.js'

/** Names the client in messages and option errors. */
const COMPONENT = 'http-client'

/**
 * Default {@link HttpTransportOptions.timeoutMs}: 30 000.
 * @example
 * ```ts
 * import { createHttpTransport, DEFAULT_TIMEOUT_MS } from 'sync-kit/http'
 *
 * const transport = createHttpTransport({ url: 'https://sync.example.com', timeoutMs: DEFAULT_TIMEOUT_MS * 2 })
 * ```
 */
export const DEFAULT_TIMEOUT_MS = 30_000
/**
 * Default {@link HttpTransportOptions.gzipThresholdBytes}: 32 KiB.
 * @example
 * ```ts
 * import { createHttpTransport, DEFAULT_GZIP_THRESHOLD_BYTES } from 'sync-kit/http'
 *
 * const transport = createHttpTransport({
 *   url: 'https://sync.example.com',
 *   gzipThresholdBytes: DEFAULT_GZIP_THRESHOLD_BYTES / 4,
 * })
 * ```
 */
export const DEFAULT_GZIP_THRESHOLD_BYTES: number = 32 * 1024
/**
 * Default {@link HttpTransportOptions.streamIdleTimeoutMs}: 45 000 (three missed heartbeats).
 * @example
 * ```ts
 * import { createHttpTransport, DEFAULT_STREAM_IDLE_TIMEOUT_MS } from 'sync-kit/http'
 *
 * const transport = createHttpTransport({
 *   url: 'https://sync.example.com',
 *   streamIdleTimeoutMs: DEFAULT_STREAM_IDLE_TIMEOUT_MS * 2,
 * })
 * ```
 */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 45_000

/**
 * Options of {@link createHttpTransport}.
 * @example
 * ```ts
 * import { createHttpTransport, type HttpTransportOptions } from 'sync-kit/http'
 *
 * const options: HttpTransportOptions = {
 *   url: 'https://api.example.com/sync',
 *   headers: () => ({ authorization: `Bearer ${localStorage.getItem('token') ?? ''}` }),
 *   timeoutMs: 10_000,
 *   retry: { retries: 6, maxMs: 30_000 },
 * }
 * const transport = createHttpTransport(options)
 * ```
 */
export interface HttpTransportOptions extends RemoteClientOptions {
  /**
   * The server's base URL including its `basePath`, e.g. `https://api.example.com/sync` (the
   * client appends `/v1/events`, …).
   */
  readonly url: string
  /**
   * The `fetch` to use (a wrapper, a test double, a polyfill).
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof fetch
  /**
   * Headers sent with every request, or a callback giving them per request (so a refreshed
   * token is picked up). A callback that throws fails the call with `unauthorized`.
   * @defaultValue none
   */
  readonly headers?: HttpHeaders | (() => HttpHeaders | Promise<HttpHeaders>)
  /**
   * Time limit of one attempt (connect, send, read the whole response), in ms. For a stream it
   * covers connecting until the `hello` message.
   * @defaultValue 30 000 ({@link DEFAULT_TIMEOUT_MS})
   */
  readonly timeoutMs?: number
  /**
   * Push bodies larger than this many bytes are sent gzip-compressed (`CompressionStream`, when
   * the runtime has it). `Infinity` disables compression.
   * @defaultValue 32 KiB ({@link DEFAULT_GZIP_THRESHOLD_BYTES})
   */
  readonly gzipThresholdBytes?: number
  /**
   * A live stream that delivers nothing, not even a heartbeat, for this long is considered dead
   * and reconnected. Keep it above the server's `heartbeatMs`.
   * @defaultValue 45 000 ({@link DEFAULT_STREAM_IDLE_TIMEOUT_MS})
   */
  readonly streamIdleTimeoutMs?: number
  /**
   * Time source, for `Retry-After` dates. A clock that also has `setTimeout`/`clearTimeout` (a
   * `TestClock`) drives the timers too, unless `timers` is given.
   * @defaultValue `Date`
   */
  readonly clock?: Clock
}

/**
 * The HTTP client transport: a `Transport` whose `subscribe` is always present.
 * @example
 * ```ts
 * import { createHttpTransport, type HttpTransport } from 'sync-kit/http'
 *
 * const transport: HttpTransport = createHttpTransport({ url: 'https://sync.example.com' })
 * const live = await transport.subscribe((batch) => console.log(batch.length, transport.epoch))
 * await live.unsubscribe()
 * ```
 */
export interface HttpTransport extends Transport {
  /**
   * Live delivery over Server-Sent Events, reconnecting with backoff and `Last-Event-ID` so a
   * reconnect resumes exactly after the last delivered event. Resolves once the server has
   * accepted the stream (its `hello`); until then transient failures are retried like any call
   * (`retry.retries`), then it rejects. Afterwards transient failures are reported to `onError`
   * and retried until the subscription stops; a non-transient one (401, 403, a changed epoch, a
   * handler that throws) is reported to `onError` and ends the subscription.
   * @param handler - receives batches, awaited before the next one.
   * @param options - `since`, filters, `signal`, `onError`.
   * @returns the subscription.
   * @throws SyncKitError `unavailable`, `timeout`, `unauthorized`, `forbidden`, `protocol`,
   * `version-parse`, `transport-closed`, `aborted`.
   */
  subscribe(handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>
  /** The server base URL this transport talks to. */
  readonly url: string
  /** The server's epoch as last reported, or `undefined` before the first answer. */
  readonly epoch: string | undefined
}

/**
 * Creates the HTTP client transport: push, paged pull, latest version and live subscribe against a
 * sync-kit server (see `createSyncHandler` and `docs/protocol.md`). Built on `fetch` only, so it
 * runs in browsers, workers, Deno, Bun and Node 20+.
 *
 * A push the server refuses as too large (413, over its body or batch limit) is split in halves
 * and sent part by part, each later part conditioned on the epoch of the first; only a single
 * event over the limit fails with `payload-too-large`.
 *
 * Retries — one layer per path:
 * - A call (`push`, `pull`, `latestVersion`) is retried here, in the request layer, and nowhere
 *   else: transient failures (network errors, timeouts, 408, 425, 429, 5xx) up to
 *   `retry.retries` times with full-jitter backoff, waiting at least `Retry-After`. The 413 split
 *   adds no retries of its own: the parts of one push share that one budget.
 * - `subscribe` until the server's `hello` is one call too: the same budget, then it rejects.
 * - An established subscription reconnects itself, until it is stopped (each failure goes to
 *   `onError`), with its backoff reset by every `hello`.
 * - A caller gets a failure only once these retries are spent: it should not retry the call again
 *   at once, but at its own schedule's next run (the `SyncManager`'s interval and backoff).
 *
 * @param options - the server URL, auth headers, timeouts, retries; see
 * {@link HttpTransportOptions}.
 * @returns the transport.
 * @throws SyncKitError `invalid-argument` for a bad URL or option.
 * @example
 * ```ts
 * import { createHttpTransport } from 'sync-kit/http'
 *
 * const transport = createHttpTransport({
 *   url: 'https://api.example.com/sync',
 *   headers: async () => ({ authorization: `Bearer ${await getToken()}` }),
 * })
 * const { events, hasMore, epoch } = await transport.pull(null, { limit: 500 })
 * const live = await transport.subscribe(async (batch) => console.log(batch.length), {
 *   since: events.at(-1)?.version ?? null,
 * })
 * ```
 */
export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const base = checkUrl(options.url)
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const timeoutMs = integerOption(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs', COMPONENT)
  const streamIdleTimeoutMs = integerOption(
    options.streamIdleTimeoutMs,
    DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    'streamIdleTimeoutMs',
    COMPONENT,
  )
  const pageLimit = integerOption(options.pageLimit, 500, 'pageLimit', COMPONENT)
  const gzipThresholdBytes = options.gzipThresholdBytes ?? DEFAULT_GZIP_THRESHOLD_BYTES
  if (
    typeof gzipThresholdBytes !== 'number' ||
    Number.isNaN(gzipThresholdBytes) ||
    gzipThresholdBytes < 0
  ) {
    throw new SyncKitError(
      'invalid-argument',
      `${CLIENT} option gzipThresholdBytes must be a number ≥ 0 (Infinity disables gzip)`,
      { argument: 'gzipThresholdBytes' },
    )
  }
  const retry = resolveRetry(options.retry, COMPONENT)
  const parseRemoteVersion =
    options.parseVersion ?? ((value: string) => SequenceVersion.parse(value))
  const random = options.random ?? Math.random
  const clock = options.clock ?? Date
  refuseRenamedOptions(options, TIMER_RENAMES, COMPONENT)
  const timers = resolveTimers(options.timers, options.clock, COMPONENT)
  const lifetime = new AbortController()
  const subscriptions = new Set<SseSubscription>()
  let epoch: string | undefined
  const { request, headersFor, urlFor, ensureOpen } = createRequestLayer({
    base,
    fetch: fetchImpl,
    headers: options.headers,
    timeoutMs,
    retry,
    random,
    clock,
    timers,
    lifetime: lifetime.signal,
  })

  const toVersion = (value: string, what: string): Version =>
    remoteVersion(parseRemoteVersion, value, what, CLIENT)

  const transport: HttpTransport = {
    url: base,
    get epoch() {
      return epoch
    },

    async push(events: readonly Event[], opts?: PushOptions): Promise<PushResult> {
      ensureOpen('push')
      throwIfAborted(opts?.signal, `${CLIENT} push`)
      const ifEpoch = opts?.ifEpoch
      const checked = checkPushCall(events, ifEpoch, CLIENT, COMPONENT)
      const result = await pushInParts(
        { request, gzipThresholdBytes },
        checked,
        ifEpoch,
        opts?.signal,
      )
      epoch = result.epoch
      return result
    },

    async pull(since: Version | null, opts?: PullOptions): Promise<PullResult> {
      ensureOpen('pull')
      throwIfAborted(opts?.signal, `${CLIENT} pull`)
      const limit = validateLimit(opts?.limit, COMPONENT) ?? pageLimit
      const query = new URLSearchParams()
      if (since !== null) query.set('since', since.toString())
      query.set('limit', String(limit))
      filtersQuery(query, opts?.filters)
      const result = await request({
        what: 'pull',
        method: 'GET',
        path: ROUTES.events,
        query,
        schema: pullResponseSchema,
        signal: opts?.signal,
      })
      epoch = result.epoch
      const page: EventWithVersion[] = result.events.map((item) => ({
        event: item.event as Event,
        version: toVersion(item.version, 'pull'),
      }))
      return { events: page, hasMore: result.hasMore, epoch: result.epoch }
    },

    async latestVersion(opts?: SignalOptions): Promise<Version> {
      ensureOpen('latestVersion')
      throwIfAborted(opts?.signal, `${CLIENT} latestVersion`)
      const result = await request({
        what: 'latestVersion',
        method: 'GET',
        path: ROUTES.version,
        schema: versionResponseSchema,
        signal: opts?.signal,
      })
      epoch = result.epoch
      return toVersion(result.latestVersion, 'latestVersion')
    },

    async subscribe(handler: EventHandler, opts: SubscribeOptions = {}): Promise<Subscription> {
      ensureOpen('subscribe')
      throwIfAborted(opts.signal, `${CLIENT} subscribe`)
      checkHandler(handler, CLIENT)
      const query = new URLSearchParams()
      filtersQuery(query, opts.filters)
      const subscription = new SseSubscription({
        handler,
        since: opts.since ?? undefined,
        knownEpoch: epoch,
        signal: opts.signal,
        onError: opts.onError,
        connect: async (cursor, signal) => {
          const q = new URLSearchParams(query)
          if (cursor !== undefined) q.set('since', cursor)
          const extra: Record<string, string> = { accept: 'text/event-stream' }
          if (cursor !== undefined) extra['last-event-id'] = cursor
          const headers = await untilAborted(headersFor(extra), signal)
          return fetchImpl(urlFor(ROUTES.stream, q), { method: 'GET', headers, signal })
        },
        toVersion: (value) => toVersion(value, 'subscribe'),
        onEpoch: (value) => {
          epoch = value
        },
        lifetime: lifetime.signal,
        retry,
        random,
        clock,
        timers,
        timeoutMs,
        streamIdleTimeoutMs,
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
      await Promise.all([...subscriptions].map((sub) => sub.unsubscribe()))
    },
  }
  return transport
}
