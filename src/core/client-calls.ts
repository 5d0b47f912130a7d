import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event } from '../types/index.js'
import { validateEvent } from './event-validation.js'

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
 * @returns validated, frozen copies of the events.
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
  return events.map((event) => validateEvent(event, component))
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
 * Checks a client's `url` option: absolute, one of `schemes`, no query or fragment.
 * @param url - the option.
 * @param schemes - the accepted protocols, e.g. `['http:', 'https:']`.
 * @param client - the client's message tag.
 * @returns the parsed URL.
 * @throws SyncKitError `invalid-argument`.
 */
export function checkClientUrl(url: string, schemes: readonly string[], client: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    throw new SyncKitError(
      'invalid-argument',
      `${client} url "${String(url).slice(0, 200)}" is not an absolute URL`,
      { argument: 'url' },
      { cause: error },
    )
  }
  if (!schemes.includes(parsed.protocol)) {
    const named = `${schemes.slice(0, -1).join(', ')} or ${schemes.at(-1) ?? ''}`
    throw new SyncKitError(
      'invalid-argument',
      `${client} url must be ${named}, got ${parsed.protocol}`,
      { argument: 'url' },
    )
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new SyncKitError('invalid-argument', `${client} url must not have a query or fragment`, {
      argument: 'url',
    })
  }
  return parsed
}
