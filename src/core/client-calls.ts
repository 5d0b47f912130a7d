import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, Timers, Version } from '../types/index.js'
import type { RetryOptions } from './retry.js'
import { type ValidateEventOptions, validateEvent } from './event-validation.js'

const FROZEN: ValidateEventOptions = { freeze: true }

/**
 * The options every client transport (HTTP, WebSocket) takes alike; each adds its own (the URL, the
 * headers, the time limit, what it connects with).
 */
export interface RemoteClientOptions {
  /**
   * Retries of transient failures — network errors and dropped connections, timeouts,
   * `unavailable`; over HTTP also 408, 425, 429 and 5xx, honouring `Retry-After` — per call (a
   * split push is one call), with full-jitter backoff. Refusals are never retried. See
   * {@link RetryOptions}.
   * @defaultValue `{ retries: 4, initialMs: 250, maxMs: 10_000, maxRetryAfterMs: 60_000 }`
   */
  readonly retry?: RetryOptions
  /**
   * Page size of a pull that names no `limit` (the server may clamp it).
   * @defaultValue 500
   */
  readonly pageLimit?: number
  /**
   * Parses the server's version strings (its store's cursors).
   * @defaultValue `SequenceVersion.parse` (the memory, SQLite and PostgreSQL stores)
   */
  readonly parseVersion?: (value: string) => Version
  /**
   * Uniform random numbers in [0, 1) for backoff jitter (inject for deterministic tests).
   * @defaultValue `Math.random`
   */
  readonly random?: () => number
  /**
   * Timers for time limits, backoff waits and idle timeouts (e.g. a `TestClock`).
   * @defaultValue `globalThis.setTimeout`/`clearTimeout` (the HTTP client: its `clock`'s timers
   * when it has them)
   */
  readonly timers?: Timers
}

/**
 * The argument checks every client transport makes before a call leaves the process, one copy
 * for the HTTP and the WebSocket clients.
 */

/**
 * Checks the arguments of `Transport.push` and validates its events.
 * @param events - the caller's events.
 * @param ifEpoch - the caller's `ifEpoch`.
 * @param client - the client's message tag, e.g. `[sync-kit] [http-client]`.
 * @param component - the component `validateEvent` names.
 * @returns validated, frozen copies of the events (an event `validateEvent` froze is kept as it is).
 * @throws SyncKitError `invalid-argument` for a non-array or an empty `ifEpoch`, `invalid-event`.
 */
export function checkPushCall(
  events: readonly Event[],
  ifEpoch: unknown,
  client: string,
  component: string,
): Event[] {
  if (!Array.isArray(events)) {
    throw new SyncKitError('invalid-argument', `${client} push takes an array of events`, {
      argument: 'events',
    })
  }
  if (ifEpoch !== undefined && (typeof ifEpoch !== 'string' || ifEpoch === '')) {
    throw new SyncKitError(
      'invalid-argument',
      `${client} push ifEpoch must be a non-empty string`,
      {
        argument: 'ifEpoch',
      },
    )
  }
  // Frozen: an event validateEvent already froze (a SyncManager's, a memory store's) is sent as it
  // is, not checked and copied again.
  return events.map((event) => validateEvent(event, component, FROZEN))
}

/**
 * Calls a client's `headers` option: a record, or a callback giving one (for a refreshed token).
 * @param headers - the option.
 * @param client - the client's message tag.
 * @returns the headers.
 * @throws SyncKitError `unauthorized` when the callback throws (a `SyncKitError` it throws as is).
 */
export async function callHeaders<THeaders extends object>(
  headers: THeaders | (() => THeaders | Promise<THeaders>) | undefined,
  client: string,
): Promise<THeaders | Record<string, never>> {
  try {
    return typeof headers === 'function' ? await headers() : (headers ?? {})
  } catch (error) {
    if (isSyncKitError(error)) throw error
    throw new SyncKitError(
      'unauthorized',
      `${client} the headers callback failed; check how it obtains credentials`,
      {},
      { cause: error },
    )
  }
}

/**
 * Refuses a call after the transport's `close()`.
 * @param lifetime - aborted by `close()`.
 * @param what - names the call.
 * @param client - the client's message tag.
 * @throws SyncKitError `transport-closed`.
 */
export function ensureOpen(lifetime: AbortSignal, what: string, client: string): void {
  if (lifetime.aborted) {
    throw new SyncKitError(
      'transport-closed',
      `${client} ${what} after close(); create a new transport`,
      {},
    )
  }
}

/**
 * Checks the handler of `Transport.subscribe`.
 * @param handler - the caller's handler.
 * @param client - the client's message tag.
 * @throws SyncKitError `invalid-argument` unless a function.
 */
export function checkHandler(handler: unknown, client: string): void {
  if (typeof handler !== 'function') {
    throw new SyncKitError('invalid-argument', `${client} subscribe takes a handler function`, {
      argument: 'handler',
    })
  }
}

/**
 * Parses a version string the server sent, with the transport's `parseVersion`.
 * @param parse - the `parseVersion` option.
 * @param value - the server's string.
 * @param what - names the call.
 * @param client - the client's message tag.
 * @returns the version.
 * @throws SyncKitError `protocol` when `parse` refuses it (another store's versions).
 */
export function remoteVersion<TVersion>(
  parse: (value: string) => TVersion,
  value: string,
  what: string,
  client: string,
): TVersion {
  try {
    return parse(value)
  } catch (error) {
    throw new SyncKitError(
      'protocol',
      `${client} ${what}: the server sent version "${value.slice(0, 64)}" that parseVersion rejects; pass the parseVersion matching the server's store`,
      {},
      { cause: error },
    )
  }
}

/**
 * Checks a client's `url` option: absolute, one of `schemes`, no query or fragment. A URL written
 * without its scheme (`localhost:8787`, `example.com/sync`) gets a hint with the scheme added:
 * the first of `schemes` for a local host, the second (the TLS one) for any other.
 * @param url - the option.
 * @param schemes - the accepted protocols, plain before TLS, e.g. `['http:', 'https:']`.
 * @param client - the client's message tag.
 * @returns the parsed URL.
 * @throws SyncKitError `invalid-argument`.
 */
export function checkClientUrl(url: string, schemes: readonly string[], client: string): URL {
  let parsed: URL | undefined
  let cause: unknown
  try {
    parsed = new URL(url)
  } catch (error) {
    cause = error
  }
  if (parsed === undefined || !schemes.includes(parsed.protocol)) {
    const text = String(url).slice(0, 200)
    const named = `${schemes.slice(0, -1).join(', ')} or ${schemes.at(-1) ?? ''}`
    const guess = withScheme(text, schemes)
    throw new SyncKitError(
      'invalid-argument',
      guess !== undefined
        ? `${client} url "${text}" has no scheme (${named}); did you mean "${guess}"?`
        : parsed === undefined
          ? `${client} url "${text}" is not an absolute URL`
          : `${client} url must be ${named}, got ${parsed.protocol}`,
      { argument: 'url' },
      cause === undefined ? {} : { cause },
    )
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new SyncKitError('invalid-argument', `${client} url must not have a query or fragment`, {
      argument: 'url',
    })
  }
  return parsed
}

/**
 * What a URL written without its scheme (`localhost:8787`, `example.com/sync`) was meant to be:
 * the first of `schemes` added for a local host, the second (the TLS one) for any other.
 * @param url - the option, as text.
 * @param schemes - the accepted protocols, plain first.
 * @returns e.g. `http://localhost:8787`, or `undefined` when the URL has a scheme (`x://`) or the
 * guess does not parse either.
 */
function withScheme(url: string, schemes: readonly string[]): string | undefined {
  if (/^[a-z][a-z\d+.-]*:\/\//i.test(url) || url.trim() === '') return undefined
  const local = /^(localhost|127\.[\d.]+|\[::1\])(:|\/|$)/i.test(url)
  const guess = `${(local ? schemes[0] : schemes[1]) ?? schemes[0] ?? 'https:'}//${url}`
  try {
    new URL(guess)
    return guess
  } catch {
    return undefined
  }
}

/**
 * The likely cause of a failed connection from a browser page to a server of another origin: the
 * server does not allow the page's origin (CORS for HTTP, the Origin check for WebSockets), which
 * the browser reports only as a network error ("Failed to fetch").
 * @param url - the server's URL (http, https, ws or wss).
 * @returns `''` outside a browser or for a same-origin URL, else a hint naming the server flag.
 */
export function crossOriginHint(url: string): string {
  const page = (globalThis as { location?: { origin?: unknown } }).location?.origin
  if (typeof page !== 'string') return ''
  try {
    if (new URL(url.replace(/^ws/i, 'http')).origin === page) return ''
  } catch {
    return ''
  }
  return `; is this page's origin allowed by the server (CORS)? sync-kit serve --cors ${page}`
}
