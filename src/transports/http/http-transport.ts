import { createParser } from 'eventsource-parser'
import type { EventSourceMessage } from 'eventsource-parser'
import * as v from 'valibot'
import { validateEvent } from '../../core/event-validation.js'
import { validateLimit } from '../../core/filters.js'
import { delay, throwIfAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Clock,
  Event,
  EventHandler,
  EventWithVersion,
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
import {
  JSON_CONTENT_TYPE,
  PROTOCOL_PREFIX,
  RESERVED_QUERY_PARAMS,
  ROUTES,
  errorFromResponse,
  isTransientStatus,
} from './protocol.js'
import type { WireErrorBody } from './protocol.js'
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter } from './retry.js'
import type { ResolvedRetryOptions, RetryOptions } from './retry.js'
import {
  errorBodySchema,
  eventWithVersionSchema,
  helloSchema,
  pullResponseSchema,
  pushResponseSchema,
  versionResponseSchema,
} from './schemas.js'
import type { PushResponseBody } from './schemas.js'

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
/** Largest single stream message the client buffers: 32 MiB. */
const MAX_SSE_MESSAGE_CHARS = 32 * 1024 * 1024
const COMPONENT = '[sync-kit] [http-client]'

/**
 * Request headers, e.g. `{ authorization: 'Bearer …' }`.
 * @example
 * ```ts
 * import type { HttpHeaders } from 'sync-kit/http'
 *
 * const headers: HttpHeaders = { authorization: 'Bearer token', 'x-client': 'web' }
 * ```
 */
export type HttpHeaders = Readonly<Record<string, string>>

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
 *   retry: { retries: 6, maxDelayMs: 30_000 },
 * }
 * const transport = createHttpTransport(options)
 * ```
 */
export interface HttpTransportOptions {
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
   * Retries of transient failures: network errors, timeouts, 408, 425, 429 and 5xx (honouring
   * `Retry-After`). Other 4xx are never retried. See {@link RetryOptions}.
   * @defaultValue `{ retries: 4, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 }`
   */
  readonly retry?: RetryOptions
  /**
   * Push bodies larger than this many bytes are sent gzip-compressed (`CompressionStream`, when
   * the runtime has it). `Infinity` disables compression.
   * @defaultValue 32 KiB ({@link DEFAULT_GZIP_THRESHOLD_BYTES})
   */
  readonly gzipThresholdBytes?: number
  /**
   * Page size of a pull that names no `limit` (the server may clamp it).
   * @defaultValue 500
   */
  readonly pageLimit?: number
  /**
   * A live stream that delivers nothing, not even a heartbeat, for this long is considered dead
   * and reconnected. Keep it above the server's `heartbeatMs`.
   * @defaultValue 45 000 ({@link DEFAULT_STREAM_IDLE_TIMEOUT_MS})
   */
  readonly streamIdleTimeoutMs?: number
  /**
   * Parses the server's version strings (its store's cursors).
   * @defaultValue `SequenceVersion.parse` (the memory and SQLite stores)
   */
  readonly parseVersion?: (value: string) => Version
  /**
   * Uniform random numbers in [0, 1) for backoff jitter (inject for deterministic tests).
   * @defaultValue `Math.random`
   */
  readonly random?: () => number
  /**
   * Time source, for `Retry-After` dates.
   * @defaultValue `Date`
   */
  readonly clock?: Clock
  /**
   * Timer used for timeouts and backoff waits (e.g. a `TestClock`'s).
   * @defaultValue `globalThis.setTimeout`
   */
  readonly setTimeout?: (fn: () => void, ms: number) => unknown
  /**
   * Cancels a timer from {@link HttpTransportOptions.setTimeout}.
   * @defaultValue `globalThis.clearTimeout`
   */
  readonly clearTimeout?: (handle: unknown) => void
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
   * accepted the stream. Transient failures are reported to `onError` and retried; a
   * non-transient one (401, 403, a changed epoch, a handler that throws) is reported to `onError`
   * and ends the subscription.
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

interface Timers {
  readonly set: (fn: () => void, ms: number) => unknown
  readonly clear: (handle: unknown) => void
}

type Method = 'GET' | 'POST'

interface RequestSpec<TOutput> {
  readonly what: string
  readonly method: Method
  readonly path: string
  readonly query?: URLSearchParams
  readonly body?: { readonly bytes: Uint8Array<ArrayBuffer>; readonly gzip: boolean }
  readonly schema: v.GenericSchema<unknown, TOutput>
  readonly signal: AbortSignal | undefined
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
  const timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs')
  const streamIdleTimeoutMs = positive(
    options.streamIdleTimeoutMs,
    DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    'streamIdleTimeoutMs',
  )
  const pageLimit = positive(options.pageLimit, 500, 'pageLimit')
  const gzipThresholdBytes = options.gzipThresholdBytes ?? DEFAULT_GZIP_THRESHOLD_BYTES
  if (
    typeof gzipThresholdBytes !== 'number' ||
    Number.isNaN(gzipThresholdBytes) ||
    gzipThresholdBytes < 0
  ) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option gzipThresholdBytes must be a number ≥ 0 (Infinity disables gzip)`,
      { argument: 'gzipThresholdBytes' },
    )
  }
  const retry = resolveRetry(options.retry)
  const parseRemoteVersion =
    options.parseVersion ?? ((value: string) => SequenceVersion.parse(value))
  const random = options.random ?? Math.random
  const clock = options.clock ?? Date
  const timers: Timers = {
    set: options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms)),
    clear: options.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
  }
  const lifetime = new AbortController()
  const subscriptions = new Set<SseSubscription>()
  let epoch: string | undefined

  function ensureOpen(what: string): void {
    if (lifetime.signal.aborted) {
      throw new SyncKitError(
        'transport-closed',
        `${COMPONENT} ${what} after close(); create a new transport`,
        {},
      )
    }
  }

  async function headersFor(extra: Record<string, string>): Promise<Headers> {
    let custom: HttpHeaders
    try {
      custom =
        typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {})
    } catch (error) {
      if (isSyncKitError(error)) throw error
      throw new SyncKitError(
        'unauthorized',
        `${COMPONENT} the headers callback failed; check how it obtains credentials`,
        {},
        { cause: error },
      )
    }
    const headers = new Headers(custom)
    for (const [key, value] of Object.entries(extra)) headers.set(key, value)
    return headers
  }

  function urlFor(path: string, query?: URLSearchParams): string {
    const q = query === undefined ? '' : query.toString()
    return `${base}${PROTOCOL_PREFIX}${path}${q === '' ? '' : `?${q}`}`
  }

  /** One HTTP exchange with retries; returns the validated JSON body. */
  async function request<TOutput>(spec: RequestSpec<TOutput>): Promise<TOutput> {
    for (let attempt = 0; ; attempt++) {
      ensureOpen(spec.what)
      throwIfAborted(spec.signal, `${COMPONENT} ${spec.what}`)
      let failure: SyncKitError
      let retryAfterMs: number | undefined
      try {
        return await attemptOnce(spec)
      } catch (error) {
        if (!(error instanceof RetryableFailure)) throw error
        failure = error.error
        retryAfterMs = error.retryAfterMs
      }
      if (attempt >= retry.retries) throw failure
      if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) throw failure
      const wait = Math.max(backoffDelay(attempt, retry, random), retryAfterMs ?? 0)
      await sleep(wait, spec.signal)
    }
  }

  async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const linked = linkSignals([signal, lifetime.signal])
    try {
      await delay(ms, linked.signal, timers.set, timers.clear)
    } catch (error) {
      ensureOpen('wait')
      throw error
    } finally {
      linked.dispose()
    }
  }

  async function attemptOnce<TOutput>(spec: RequestSpec<TOutput>): Promise<TOutput> {
    const attempt = linkSignals([spec.signal, lifetime.signal])
    let timedOut = false
    const timer = timers.set(() => {
      timedOut = true
      attempt.controller.abort()
    }, timeoutMs)
    try {
      const extra: Record<string, string> = { accept: 'application/json' }
      if (spec.body !== undefined) {
        extra['content-type'] = JSON_CONTENT_TYPE
        if (spec.body.gzip) extra['content-encoding'] = 'gzip'
      }
      let headers: Headers
      try {
        // Under the attempt's timeout and signals: a callback stuck on a token refresh must not
        // hang the call.
        headers = await untilAborted(headersFor(extra), attempt.signal)
      } catch (error) {
        if (!attempt.signal.aborted) throw error
        throw transportFailure(error, spec, timedOut)
      }
      ensureOpen(spec.what)
      throwIfAborted(spec.signal, `${COMPONENT} ${spec.what}`)
      const init: RequestInit = { method: spec.method, headers, signal: attempt.signal }
      if (spec.body !== undefined) init.body = spec.body.bytes
      let response: Response
      let text: string
      try {
        response = await fetchImpl(urlFor(spec.path, spec.query), init)
        text = await response.text()
      } catch (error) {
        throw transportFailure(error, spec, timedOut)
      }
      if (!response.ok) {
        const failure = errorFromResponse(response.status, parseErrorBody(text), spec.what)
        if (isTransientStatus(response.status)) {
          throw new RetryableFailure(
            failure,
            parseRetryAfter(response.headers.get('retry-after'), clock),
          )
        }
        throw failure
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(text) as unknown
      } catch (error) {
        throw new SyncKitError(
          'protocol',
          `${COMPONENT} ${spec.what}: the server answered ${response.status} with a body that is not JSON; is the url a sync-kit server?`,
          { status: response.status },
          { cause: error },
        )
      }
      const result = v.safeParse(spec.schema, parsed)
      if (!result.success) {
        throw new SyncKitError(
          'protocol',
          `${COMPONENT} ${spec.what}: unexpected response shape (${v.getDotPath(result.issues[0]) ?? 'body'}: ${result.issues[0].message}); are client and server versions compatible?`,
          { status: response.status },
        )
      }
      return result.output
    } finally {
      timers.clear(timer)
      attempt.dispose()
    }
  }

  function transportFailure(
    error: unknown,
    spec: { what: string; signal: AbortSignal | undefined },
    timedOut: boolean,
  ): unknown {
    if (isSyncKitError(error)) return error
    if (lifetime.signal.aborted) {
      return new SyncKitError(
        'transport-closed',
        `${COMPONENT} ${spec.what} was cut short by close()`,
        {},
        { cause: error },
      )
    }
    if (spec.signal?.aborted === true) {
      return new SyncKitError(
        'aborted',
        `${COMPONENT} ${spec.what} was aborted`,
        {},
        { cause: spec.signal.reason },
      )
    }
    if (timedOut) {
      return new RetryableFailure(
        new SyncKitError(
          'timeout',
          `${COMPONENT} ${spec.what} got no complete answer within ${timeoutMs} ms; the server may be overloaded, retry later`,
          { timeoutMs },
          { cause: error },
        ),
        undefined,
      )
    }
    return new RetryableFailure(
      new SyncKitError(
        'unavailable',
        `${COMPONENT} ${spec.what}: could not reach ${base} (${error instanceof Error ? error.message : String(error)}); check the network and the url`,
        {},
        { cause: error },
      ),
      undefined,
    )
  }

  function toVersion(value: string, what: string): Version {
    try {
      return parseRemoteVersion(value)
    } catch (error) {
      throw new SyncKitError(
        'protocol',
        `${COMPONENT} ${what}: the server sent version "${value.slice(0, 64)}" that parseVersion rejects; pass the parseVersion matching the server's store`,
        {},
        { cause: error },
      )
    }
  }

  function filtersQuery(query: URLSearchParams, filters: readonly Filter[] | undefined): void {
    for (const filter of filters ?? []) {
      if (
        typeof filter !== 'object' ||
        filter === null ||
        typeof filter.key !== 'string' ||
        typeof filter.value !== 'string'
      ) {
        throw new SyncKitError(
          'invalid-argument',
          `${COMPONENT} a filter must be { key: string, value: string }`,
          {
            argument: 'filters',
          },
        )
      }
      if (RESERVED_QUERY_PARAMS.has(filter.key) || filter.key === '') {
        throw new SyncKitError(
          'unsupported-filter',
          `${COMPONENT} "${filter.key}" cannot be used as a filter key`,
          {
            key: filter.key,
          },
        )
      }
      query.append(filter.key, filter.value)
    }
  }

  async function encodePush(
    events: readonly Event[],
    ifEpoch: string | undefined,
  ): Promise<{ bytes: Uint8Array<ArrayBuffer>; gzip: boolean }> {
    const envelope = ifEpoch === undefined ? { events } : { events, ifEpoch }
    const bytes = new TextEncoder().encode(JSON.stringify(envelope))
    if (bytes.byteLength <= gzipThresholdBytes || typeof CompressionStream === 'undefined') {
      return { bytes, gzip: false }
    }
    const compressed = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))
    return { bytes: new Uint8Array(await new Response(compressed).arrayBuffer()), gzip: true }
  }

  /**
   * Pushes validated events. When the server refuses them as too large (413: over its body or
   * batch limit) and there are several, pushes each half instead, recursively, so a batch that
   * does not fit is not refused forever. Push is idempotent by id, so a part stored before a
   * later one fails is a plain duplicate when the caller retries. Parts after the first are
   * conditioned on the epoch the first was stored in (unless the caller named one), so a server
   * reset between parts fails the push with `epoch-mismatch` instead of splitting it across logs.
   */
  async function pushParts(
    events: readonly Event[],
    ifEpoch: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<PushResult & { readonly epoch: string }> {
    let result: PushResponseBody
    try {
      result = await request({
        what: 'push',
        method: 'POST',
        path: ROUTES.events,
        body: await encodePush(events, ifEpoch),
        schema: pushResponseSchema,
        signal,
      })
    } catch (error) {
      if (!isSyncKitError(error, 'payload-too-large') || events.length < 2) throw error
      const middle = Math.ceil(events.length / 2)
      const first = await pushParts(events.slice(0, middle), ifEpoch, signal)
      const second = await pushParts(events.slice(middle), ifEpoch ?? first.epoch, signal)
      return {
        stored: first.stored + second.stored,
        duplicates: first.duplicates + second.duplicates,
        epoch: second.epoch,
      }
    }
    return { stored: result.stored, duplicates: result.duplicates, epoch: result.epoch }
  }

  const transport: HttpTransport = {
    url: base,
    get epoch() {
      return epoch
    },

    async push(events: readonly Event[], opts?: PushOptions): Promise<PushResult> {
      ensureOpen('push')
      throwIfAborted(opts?.signal, `${COMPONENT} push`)
      if (!Array.isArray(events)) {
        throw new SyncKitError('invalid-argument', `${COMPONENT} push takes an array of events`, {
          argument: 'events',
        })
      }
      const ifEpoch = opts?.ifEpoch
      if (ifEpoch !== undefined && (typeof ifEpoch !== 'string' || ifEpoch === '')) {
        throw new SyncKitError(
          'invalid-argument',
          `${COMPONENT} push ifEpoch must be a non-empty string`,
          {
            argument: 'ifEpoch',
          },
        )
      }
      const checked = events.map((event) => validateEvent(event, 'http-client'))
      const result = await pushParts(checked, ifEpoch, opts?.signal)
      epoch = result.epoch
      return result
    },

    async pull(since: Version | null, opts?: PullOptions): Promise<PullResult> {
      ensureOpen('pull')
      throwIfAborted(opts?.signal, `${COMPONENT} pull`)
      const limit = validateLimit(opts?.limit, 'http-client') ?? pageLimit
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
      throwIfAborted(opts?.signal, `${COMPONENT} latestVersion`)
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
      throwIfAborted(opts.signal, `${COMPONENT} subscribe`)
      if (typeof handler !== 'function') {
        throw new SyncKitError(
          'invalid-argument',
          `${COMPONENT} subscribe takes a handler function`,
          {
            argument: 'handler',
          },
        )
      }
      const query = new URLSearchParams()
      filtersQuery(query, opts.filters)
      const subscription = new SseSubscription({
        handler,
        query,
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

/** A transient failure that {@link createHttpTransport}'s request loop may retry. */
class RetryableFailure extends Error {
  constructor(
    readonly error: SyncKitError,
    readonly retryAfterMs: number | undefined,
  ) {
    super(error.message)
  }
}

interface SubscriptionConfig {
  readonly handler: EventHandler
  readonly query: URLSearchParams
  readonly since: Version | undefined
  readonly knownEpoch: string | undefined
  readonly signal: AbortSignal | undefined
  readonly onError: ((error: unknown) => void) | undefined
  readonly connect: (cursor: string | undefined, signal: AbortSignal) => Promise<Response>
  readonly toVersion: (value: string) => Version
  readonly onEpoch: (epoch: string) => void
  readonly lifetime: AbortSignal
  readonly retry: ResolvedRetryOptions
  readonly random: () => number
  readonly clock: Clock
  readonly timers: Timers
  readonly timeoutMs: number
  readonly streamIdleTimeoutMs: number
  readonly onEnd: (subscription: SseSubscription) => void
}

/**
 * One live subscription: connects, reads the event stream, delivers batches, reconnects with
 * backoff from the last delivered cursor.
 */
class SseSubscription implements Subscription {
  /** Settles when the first connection has said hello (or failed for good). */
  readonly started: Promise<void>
  private readonly stop = new AbortController()
  private cursor: string | undefined
  private cursorVersion: Version | undefined
  private epoch: string | undefined
  private delivering = false
  private readonly loop: Promise<void>
  private resolveStarted!: () => void
  private rejectStarted!: (error: unknown) => void
  private isStarted = false
  /** Failed connections since the last hello: drives the backoff window. */
  private attempt = 0

  constructor(private readonly config: SubscriptionConfig) {
    this.cursor = config.since?.toString()
    // Resuming from a cursor taken in a known epoch: a different epoch at hello means the cursor
    // is meaningless.
    this.epoch = config.since === undefined ? undefined : config.knownEpoch
    this.cursorVersion = config.since
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStarted = resolve
      this.rejectStarted = reject
    })
    const onAbort = (): void => {
      this.stop.abort()
    }
    config.signal?.addEventListener('abort', onAbort, { once: true })
    config.lifetime.addEventListener('abort', onAbort, { once: true })
    this.loop = this.run().finally(() => {
      config.signal?.removeEventListener('abort', onAbort)
      config.lifetime.removeEventListener('abort', onAbort)
      config.onEnd(this)
    })
  }

  async unsubscribe(): Promise<void> {
    this.stop.abort()
    // From inside the handler the loop is waiting for us: no batch follows once stop is set.
    if (!this.delivering) await this.loop
  }

  private fail(error: unknown): void {
    if (!this.isStarted) {
      this.rejectStarted(error)
      return
    }
    try {
      this.config.onError?.(error)
    } catch {
      // A throwing onError must not kill the loop.
    }
  }

  private stoppedError(): SyncKitError {
    if (this.config.lifetime.aborted) {
      return new SyncKitError(
        'transport-closed',
        `${COMPONENT} subscribe: the transport was closed`,
        {},
      )
    }
    return new SyncKitError(
      'aborted',
      `${COMPONENT} subscribe was aborted`,
      {},
      {
        cause: this.config.signal?.reason,
      },
    )
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stop.signal.aborted) {
        if (!this.isStarted) this.rejectStarted(this.stoppedError())
        return
      }
      let outcome: ConnectionOutcome
      try {
        outcome = await this.connection()
      } catch (error) {
        outcome = { kind: 'fatal', error }
      }
      if (this.stop.signal.aborted) continue
      if (outcome.kind === 'fatal') {
        this.fail(outcome.error instanceof HandlerFailure ? outcome.error.cause : outcome.error)
        this.stop.abort()
        continue
      }
      const retryAfterMs = outcome.kind === 'transient' ? outcome.retryAfterMs : undefined
      if (outcome.kind === 'transient') {
        // Before the first hello, the retry budget of ordinary calls applies and subscribe()
        // rejects when it runs out; afterwards the subscription retries until stopped.
        const giveUp =
          this.attempt >= this.config.retry.retries ||
          (retryAfterMs !== undefined && retryAfterMs > this.config.retry.maxRetryAfterMs)
        if (!this.isStarted && giveUp) {
          this.fail(outcome.error)
          this.stop.abort()
          continue
        }
        if (this.isStarted) this.fail(outcome.error)
      }
      const wait = Math.max(
        backoffDelay(this.attempt, this.config.retry, this.config.random),
        Math.min(retryAfterMs ?? 0, this.config.retry.maxRetryAfterMs),
      )
      this.attempt++
      try {
        await delay(wait, this.stop.signal, this.config.timers.set, this.config.timers.clear)
      } catch {
        // Stopped while waiting; the loop head handles it.
      }
    }
  }

  /** One connection, from fetch to the end of its stream. */
  private async connection(): Promise<ConnectionOutcome> {
    const { timers } = this.config
    const controller = new AbortController()
    // Cancelling the reader as well as aborting the fetch: not every fetch ends a body's pending
    // read on abort, and a stuck read would keep a dead connection (or unsubscribe) waiting.
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    const cut = (): void => {
      controller.abort()
      reader?.cancel().catch(() => undefined)
    }
    this.stop.signal.addEventListener('abort', cut, { once: true })
    let idleTimer: unknown
    let timedOut = false
    const arm = (ms: number): void => {
      timers.clear(idleTimer)
      idleTimer = timers.set(() => {
        timedOut = true
        cut()
      }, ms)
    }
    arm(this.config.timeoutMs)
    let saidHello = false
    const transientNetwork = (error: unknown): ConnectionOutcome => {
      if (isSyncKitError(error) && !error.transient) return { kind: 'fatal', error }
      if (isSyncKitError(error)) return { kind: 'transient', error, retryAfterMs: undefined }
      const message = timedOut
        ? saidHello
          ? `the stream was silent for ${this.config.streamIdleTimeoutMs} ms (no heartbeat); reconnecting`
          : `no hello within ${this.config.timeoutMs} ms`
        : `the connection failed (${error instanceof Error ? error.message : String(error)}); reconnecting`
      const wrapped = timedOut
        ? new SyncKitError(
            'timeout',
            `${COMPONENT} subscribe: ${message}`,
            { timeoutMs: saidHello ? this.config.streamIdleTimeoutMs : this.config.timeoutMs },
            { cause: error },
          )
        : new SyncKitError(
            'unavailable',
            `${COMPONENT} subscribe: ${message}`,
            {},
            { cause: error },
          )
      return { kind: 'transient', error: wrapped, retryAfterMs: undefined }
    }
    try {
      let response: Response
      try {
        response = await this.config.connect(this.cursor, controller.signal)
      } catch (error) {
        if (this.stop.signal.aborted) return { kind: 'healthy-end' }
        return transientNetwork(error)
      }
      if (!response.ok) {
        const text = await response.text().catch(() => '')
        const error = errorFromResponse(response.status, parseErrorBody(text), 'subscribe')
        if (!isTransientStatus(response.status)) return { kind: 'fatal', error }
        return {
          kind: 'transient',
          error,
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.config.clock),
        }
      }
      const type = response.headers.get('content-type') ?? ''
      if (!type.toLowerCase().startsWith('text/event-stream') || response.body === null) {
        await response.body?.cancel().catch(() => undefined)
        return {
          kind: 'fatal',
          error: new SyncKitError(
            'protocol',
            `${COMPONENT} subscribe: the server answered with "${type.slice(0, 60)}", not an event stream; is the url a sync-kit server?`,
            { status: response.status },
          ),
        }
      }
      const body = response.body.getReader()
      reader = body
      if (this.stop.signal.aborted || timedOut) cut()
      const decoder = new TextDecoder()
      let messages: EventSourceMessage[] = []
      let parseProblem: unknown
      const parser = createParser({
        onEvent: (message) => messages.push(message),
        onError: (error) => {
          if (error.type === 'max-buffer-size-exceeded') parseProblem = error
        },
        maxBufferSize: MAX_SSE_MESSAGE_CHARS,
      })
      try {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>
          try {
            chunk = await body.read()
          } catch (error) {
            if (this.stop.signal.aborted) return { kind: 'healthy-end' }
            return transientNetwork(error)
          }
          if (this.stop.signal.aborted) return { kind: 'healthy-end' }
          if (timedOut) return transientNetwork(new Error('idle'))
          if (chunk.done) {
            // The server ended the stream (e.g. a graceful shutdown): reconnect from the cursor.
            return saidHello
              ? { kind: 'healthy-end' }
              : transientNetwork(new Error('the stream ended before the hello message'))
          }
          parser.feed(decoder.decode(chunk.value, { stream: true }))
          if (parseProblem !== undefined) {
            return {
              kind: 'fatal',
              error: new SyncKitError(
                'protocol',
                `${COMPONENT} subscribe: a stream message exceeds ${MAX_SSE_MESSAGE_CHARS} characters`,
                {},
                { cause: parseProblem },
              ),
            }
          }
          const batch: EventWithVersion[] = []
          let batchCursor: string | undefined
          let batchVersion: Version | undefined
          const current = messages
          messages = []
          for (const message of current) {
            if (message.event === 'hello') {
              const hello = parseJson(message.data, helloSchema, 'hello')
              if (this.epoch !== undefined && hello.epoch !== this.epoch) {
                return {
                  kind: 'fatal',
                  error: new SyncKitError(
                    'protocol',
                    `${COMPONENT} subscribe: the server's epoch changed from "${this.epoch.slice(0, 64)}" to "${hello.epoch.slice(0, 64)}"; it was wiped or replaced, so cursors are meaningless — pull from the beginning and subscribe again`,
                    {},
                  ),
                }
              }
              this.epoch = hello.epoch
              this.config.onEpoch(hello.epoch)
              if (this.cursor === undefined) {
                this.cursor = hello.cursor
                this.cursorVersion = this.config.toVersion(hello.cursor)
              }
              saidHello = true
              this.attempt = 0
              if (!this.isStarted) {
                this.isStarted = true
                this.resolveStarted()
              }
            } else if (message.event === 'event') {
              if (!saidHello) throw protocolProblem('an event arrived before the hello message')
              const item = parseJson(message.data, eventWithVersionSchema, 'event')
              if (message.id !== item.version) {
                throw protocolProblem(
                  `message id "${String(message.id).slice(0, 64)}" differs from the event's version`,
                )
              }
              const version = this.config.toVersion(item.version)
              const after = batchVersion ?? this.cursorVersion
              // Strictly after the cursor only: a replay by a proxy never delivers twice.
              if (after !== undefined && version.compare(after) <= 0) continue
              batch.push({ event: item.event as Event, version })
              batchCursor = item.version
              batchVersion = version
            } else if (message.event === 'error') {
              const body = parseJson(message.data, errorBodySchema, 'error')
              const error = errorFromWireCode(body)
              // Deliver what came before the error, then reconnect or stop.
              if (batch.length > 0 && !(await this.deliver(batch, batchCursor, batchVersion))) {
                return { kind: 'healthy-end' }
              }
              return error.transient
                ? { kind: 'transient', error, retryAfterMs: undefined }
                : { kind: 'fatal', error }
            }
            // Other event names are ignored: newer servers may add some.
          }
          if (batch.length > 0 && !(await this.deliver(batch, batchCursor, batchVersion))) {
            return { kind: 'healthy-end' }
          }
          if (saidHello) arm(this.config.streamIdleTimeoutMs)
        }
      } finally {
        body.cancel().catch(() => undefined)
      }
    } catch (error) {
      return { kind: 'fatal', error }
    } finally {
      timers.clear(idleTimer)
      this.stop.signal.removeEventListener('abort', cut)
    }
  }

  /** Hands a batch to the handler; false when the subscription stopped meanwhile. */
  private async deliver(
    batch: readonly EventWithVersion[],
    cursor: string | undefined,
    version: Version | undefined,
  ): Promise<boolean> {
    if (this.stop.signal.aborted) return false
    this.delivering = true
    try {
      await this.config.handler(batch)
    } catch (error) {
      throw new HandlerFailure(error)
    } finally {
      this.delivering = false
    }
    this.cursor = cursor
    this.cursorVersion = version
    return !this.stop.signal.aborted
  }
}

class HandlerFailure extends Error {
  constructor(cause: unknown) {
    super(`${COMPONENT} subscribe: the handler threw; the subscription ended`, { cause })
  }
}

type ConnectionOutcome =
  | { readonly kind: 'healthy-end' }
  | {
      readonly kind: 'transient'
      readonly error: SyncKitError
      readonly retryAfterMs: number | undefined
    }
  | { readonly kind: 'fatal'; readonly error: unknown }

function protocolProblem(message: string): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${COMPONENT} subscribe: ${message}`, {})
}

function parseJson<TOutput>(
  data: string,
  schema: v.GenericSchema<unknown, TOutput>,
  what: string,
): TOutput {
  let parsed: unknown
  try {
    parsed = JSON.parse(data) as unknown
  } catch (error) {
    throw new SyncKitError(
      'protocol',
      `${COMPONENT} subscribe: the ${what} message is not JSON`,
      {},
      { cause: error },
    )
  }
  const result = v.safeParse(schema, parsed)
  if (!result.success) throw protocolProblem(`the ${what} message has an unexpected shape`)
  return result.output
}

const STATUS_OF_WIRE_CODE: Readonly<Record<string, number>> = {
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  timeout: 503,
  internal: 500,
}

function errorFromWireCode(body: WireErrorBody): SyncKitError {
  return errorFromResponse(STATUS_OF_WIRE_CODE[body.error.code] ?? 400, body, 'subscribe')
}

function parseErrorBody(text: string): WireErrorBody | undefined {
  try {
    const result = v.safeParse(errorBodySchema, JSON.parse(text))
    return result.success ? result.output : undefined
  } catch {
    return undefined
  }
}

/** Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error as Error)
      },
    )
  })
}

/** Links several optional signals into one controller (AbortSignal.any is not everywhere yet). */
function linkSignals(signals: readonly (AbortSignal | undefined)[]): {
  controller: AbortController
  signal: AbortSignal
  dispose: () => void
} {
  const controller = new AbortController()
  const abort = (): void => controller.abort()
  for (const signal of signals) {
    if (signal === undefined) continue
    if (signal.aborted) controller.abort()
    else signal.addEventListener('abort', abort, { once: true })
  }
  return {
    controller,
    signal: controller.signal,
    dispose: () => {
      for (const signal of signals) signal?.removeEventListener('abort', abort)
    },
  }
}

function resolveRetry(retry: RetryOptions | undefined): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY, ...retry }
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SyncKitError(
        'invalid-argument',
        `${COMPONENT} option retry.${name} must be an integer ≥ 0`,
        {
          argument: `retry.${name}`,
        },
      )
    }
  }
  return resolved
}

function checkUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} url "${String(url).slice(0, 200)}" is not an absolute URL`,
      {
        argument: 'url',
      },
      { cause: error },
    )
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} url must be http: or https:, got ${parsed.protocol}`,
      {
        argument: 'url',
      },
    )
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} url must not have a query or fragment`,
      {
        argument: 'url',
      },
    )
  }
  return parsed.href.replace(/\/+$/, '')
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option ${name} must be a positive integer, got ${String(value)}`,
      {
        argument: name,
      },
    )
  }
  return value
}
