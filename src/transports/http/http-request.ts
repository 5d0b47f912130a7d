import * as v from 'valibot'
import {
  callHeaders,
  checkClientUrl,
  crossOriginHint,
  ensureOpen as checkOpen,
} from '../../core/client-calls.js'
import { delay, throwIfAborted, untilAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { Clock, Filter, Timers } from '../../types/index.js'
import {
  JSON_CONTENT_TYPE,
  PROTOCOL_PREFIX,
  RESERVED_QUERY_PARAMS,
  errorFromResponse,
  isTransientStatus,
} from './protocol.js'
import type { WireErrorBody } from './protocol.js'
import { nextRetryWait, parseRetryAfter } from './retry.js'
import type { ResolvedRetryOptions, RetryBudget } from './retry.js'
import { errorBodySchema } from './schemas.js'

// The request layer of the HTTP client: one exchange (headers, fetch, the attempt's timeout,
// error mapping, the validated JSON body) and THE retry loop of every call. Nothing above it
// retries a request; the live stream reconnects in `sse-subscription.ts` by the same policy.

/** Prefix of the client's messages. */
export const CLIENT = '[sync-kit] [http-client]'

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

/** What the request layer needs from the transport's resolved options. */
export interface RequestLayerConfig {
  /** The server's base URL, without a trailing slash. */
  readonly base: string
  readonly fetch: typeof fetch
  readonly headers: HttpHeaders | (() => HttpHeaders | Promise<HttpHeaders>) | undefined
  /** Time limit of one attempt, in ms. */
  readonly timeoutMs: number
  readonly retry: ResolvedRetryOptions
  readonly random: () => number
  readonly clock: Clock
  readonly timers: Timers
  /** Aborts when the transport closes. */
  readonly lifetime: AbortSignal
}

/** One call's request. */
export interface RequestSpec<TOutput> {
  /** Names the call in messages, e.g. `push`. */
  readonly what: string
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly query?: URLSearchParams
  readonly body?: { readonly bytes: Uint8Array<ArrayBuffer>; readonly gzip: boolean }
  readonly schema: v.GenericSchema<unknown, TOutput>
  readonly signal: AbortSignal | undefined
  /**
   * The retries of the call this request belongs to; a fresh budget when absent. The parts of a
   * split push pass one budget, so the push retries `retry.retries` times at most in all.
   */
  readonly budget?: RetryBudget
}

/** The request layer: see {@link createRequestLayer}. */
export interface RequestLayer {
  /** One call: attempts with retries of transient failures; returns the validated JSON body. */
  request<TOutput>(spec: RequestSpec<TOutput>): Promise<TOutput>
  /** The request headers: the configured ones (callback awaited) plus `extra`. */
  headersFor(extra: Record<string, string>): Promise<Headers>
  /** The URL of a protocol route. */
  urlFor(path: string, query?: URLSearchParams): string
  /** Throws `transport-closed` once the transport is closed. */
  ensureOpen(what: string): void
}

/**
 * Creates the request layer of the HTTP client: one exchange (headers, `fetch`, the attempt's
 * timeout, error mapping, response validation) and the retry loop of every call — transient
 * failures (network errors, timeouts, 408, 425, 429, 5xx) are retried with full-jitter backoff,
 * waiting at least `Retry-After`; anything else fails at once.
 * @param config - the transport's resolved options.
 * @returns the layer.
 */
export function createRequestLayer(config: RequestLayerConfig): RequestLayer {
  const { base, timeoutMs, timers, lifetime } = config

  function ensureOpen(what: string): void {
    checkOpen(lifetime, what, CLIENT)
  }

  async function headersFor(extra: Record<string, string>): Promise<Headers> {
    const custom: HttpHeaders = await callHeaders(config.headers, CLIENT)
    const headers = new Headers(custom)
    for (const [key, value] of Object.entries(extra)) headers.set(key, value)
    return headers
  }

  function urlFor(path: string, query?: URLSearchParams): string {
    const q = query === undefined ? '' : query.toString()
    return `${base}${PROTOCOL_PREFIX}${path}${q === '' ? '' : `?${q}`}`
  }

  async function request<TOutput>(spec: RequestSpec<TOutput>): Promise<TOutput> {
    const budget = spec.budget ?? { used: 0 }
    for (;;) {
      ensureOpen(spec.what)
      throwIfAborted(spec.signal, `${CLIENT} ${spec.what}`)
      let failure: RetryableFailure
      try {
        return await attemptOnce(spec)
      } catch (error) {
        if (!(error instanceof RetryableFailure)) throw error
        failure = error
      }
      const wait = nextRetryWait(budget, failure.retryAfterMs, config.retry, config.random)
      if (wait === undefined) throw failure.error
      await sleep(wait, spec.signal)
    }
  }

  async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const linked = linkSignals([signal, lifetime])
    try {
      await delay(ms, linked.signal, timers.setTimeout, timers.clearTimeout)
    } catch (error) {
      ensureOpen('wait')
      throw error
    } finally {
      linked.dispose()
    }
  }

  async function attemptOnce<TOutput>(spec: RequestSpec<TOutput>): Promise<TOutput> {
    const attempt = linkSignals([spec.signal, lifetime])
    let timedOut = false
    const timer = timers.setTimeout(() => {
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
      throwIfAborted(spec.signal, `${CLIENT} ${spec.what}`)
      const init: RequestInit = { method: spec.method, headers, signal: attempt.signal }
      if (spec.body !== undefined) init.body = spec.body.bytes
      let response: Response
      let text: string
      try {
        response = await config.fetch(urlFor(spec.path, spec.query), init)
        text = await response.text()
      } catch (error) {
        throw transportFailure(error, spec, timedOut)
      }
      if (!response.ok) {
        const failure = errorFromResponse(response.status, parseErrorBody(text), spec.what)
        if (isTransientStatus(response.status)) {
          throw new RetryableFailure(
            failure,
            parseRetryAfter(response.headers.get('retry-after'), config.clock),
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
          `${CLIENT} ${spec.what}: the server answered ${response.status} with a body that is not JSON; is the url a sync-kit server?`,
          { status: response.status },
          { cause: error },
        )
      }
      const result = v.safeParse(spec.schema, parsed)
      if (!result.success) {
        throw new SyncKitError(
          'protocol',
          `${CLIENT} ${spec.what}: unexpected response shape (${v.getDotPath(result.issues[0]) ?? 'body'}: ${result.issues[0].message}); are client and server versions compatible?`,
          { status: response.status },
        )
      }
      return result.output
    } finally {
      timers.clearTimeout(timer)
      attempt.dispose()
    }
  }

  function transportFailure(
    error: unknown,
    spec: { what: string; signal: AbortSignal | undefined },
    timedOut: boolean,
  ): unknown {
    if (isSyncKitError(error)) return error
    if (lifetime.aborted) {
      return new SyncKitError(
        'transport-closed',
        `${CLIENT} ${spec.what} was cut short by close()`,
        {},
        { cause: error },
      )
    }
    if (spec.signal?.aborted === true) {
      return new SyncKitError(
        'aborted',
        `${CLIENT} ${spec.what} was aborted`,
        {},
        { cause: spec.signal.reason },
      )
    }
    if (timedOut) {
      return new RetryableFailure(
        new SyncKitError(
          'timeout',
          `${CLIENT} ${spec.what} got no complete answer within ${timeoutMs} ms; the server may be overloaded, retry later`,
          { timeoutMs },
          { cause: error },
        ),
        undefined,
      )
    }
    return new RetryableFailure(
      new SyncKitError(
        'unavailable',
        `${CLIENT} ${spec.what}: could not reach ${base} (${error instanceof Error ? error.message : String(error)}); check the network and the url${
          // A browser reports a request refused by CORS as a TypeError ("Failed to fetch").
          error instanceof TypeError ? crossOriginHint(base) : ''
        }`,
        {},
        { cause: error },
      ),
      undefined,
    )
  }

  return { request, headersFor, urlFor, ensureOpen }
}

/** A transient failure that the request loop may retry. */
class RetryableFailure extends Error {
  constructor(
    readonly error: SyncKitError,
    readonly retryAfterMs: number | undefined,
  ) {
    super(error.message)
  }
}

/**
 * Reads a sync-kit error body.
 * @param text - the response body.
 * @returns the body, or `undefined` when it is not one.
 */
export function parseErrorBody(text: string): WireErrorBody | undefined {
  try {
    const result = v.safeParse(errorBodySchema, JSON.parse(text))
    return result.success ? result.output : undefined
  } catch {
    return undefined
  }
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

/**
 * Appends filters to a query as `key=value` parameters.
 * @param query - the query to extend.
 * @param filters - the caller's filters.
 * @throws SyncKitError `invalid-argument` for a malformed filter, `unsupported-filter` for a key
 * the protocol reserves.
 */
export function filtersQuery(query: URLSearchParams, filters: readonly Filter[] | undefined): void {
  for (const filter of filters ?? []) {
    if (
      typeof filter !== 'object' ||
      filter === null ||
      typeof filter.key !== 'string' ||
      typeof filter.value !== 'string'
    ) {
      throw new SyncKitError(
        'invalid-argument',
        `${CLIENT} a filter must be { key: string, value: string }`,
        {
          argument: 'filters',
        },
      )
    }
    if (RESERVED_QUERY_PARAMS.has(filter.key) || filter.key === '') {
      throw new SyncKitError(
        'unsupported-filter',
        `${CLIENT} "${filter.key}" cannot be used as a filter key`,
        {
          key: filter.key,
        },
      )
    }
    query.append(filter.key, filter.value)
  }
}

/**
 * Checks the `url` option.
 * @param url - the server's base URL.
 * @returns it without a trailing slash.
 * @throws SyncKitError `invalid-argument` unless an absolute http(s) URL without query or fragment.
 */
export function checkUrl(url: string): string {
  const parsed = checkClientUrl(url, ['http:', 'https:'], CLIENT)
  return parsed.href.replace(/\/+$/, '')
}
