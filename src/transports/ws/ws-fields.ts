import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Filter } from '../../types/index.js'
import {
  MAX_HELLO_HEADERS,
  MAX_HELLO_HEADER_LENGTH,
  MAX_WS_FILTERS,
  MAX_WS_FILTER_VALUE_LENGTH,
  WS_CLOSE,
  isObject,
} from './protocol.js'
import type { RequestId } from './protocol.js'

/**
 * The server's reading of the fields of a request (limit, filters, the hello's headers) and the
 * texts of its replies, apart from the session that runs them.
 */

/** The tag of every message the WebSocket server writes. */
export const SERVER = '[sync-kit] [ws-server]'

/** The reply to request `id`. */
export function result(id: RequestId, body: unknown): string {
  return JSON.stringify({ type: 'result', id, result: body })
}

export function protocolError(message: string): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${SERVER} ${message}`, {})
}

export function invalid(argument: string, problem: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `${SERVER} ${argument} ${problem}`, { argument })
}

export function limitOf(value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid('limit', 'must be a positive integer')
  }
  return value
}

export function filtersOf(value: unknown): readonly Filter[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid('filters', 'must be an array of {key, value}')
  if (value.length > MAX_WS_FILTERS)
    throw invalid('filters', `more than ${MAX_WS_FILTERS} are not allowed`)
  return value.map((filter: unknown) => {
    if (!isObject(filter) || typeof filter.key !== 'string' || typeof filter.value !== 'string') {
      throw invalid('filters', 'must be an array of {key, value} strings')
    }
    if (
      filter.key === '' ||
      filter.key.length > 200 ||
      filter.value.length > MAX_WS_FILTER_VALUE_LENGTH
    ) {
      throw invalid('filters', `filter "${filter.key.slice(0, 40)}" is empty or too long`)
    }
    return { key: filter.key, value: filter.value }
  })
}

/**
 * Headers a hello may not set: the Fetch standard's forbidden request headers, which a browser
 * sets itself and a page cannot (`Origin`, `Cookie`, `Host`, `Sec-*`, `Proxy-*`, …). A hello is
 * written by the page's script, so taking them from it would let any page forge what its browser
 * attests — an `Origin` check against cross-site sockets, or another user's session cookie.
 */
const BROWSER_HEADERS =
  /^(accept-charset|accept-encoding|access-control-request-headers|access-control-request-method|connection|content-length|cookie|cookie2|date|dnt|expect|host|keep-alive|origin|referer|set-cookie|te|trailer|transfer-encoding|upgrade|via|sec-.*|proxy-.*)$/i

/**
 * The upgrade request with the hello's headers (they win: browsers cannot set upgrade headers),
 * except the headers only a browser sets, which a hello may not name.
 */
export function withHeaders(request: Request, headers: unknown): Request {
  if (headers === undefined) return request
  if (!isObject(headers)) throw invalid('headers', 'must be an object of strings')
  const entries = Object.entries(headers)
  if (entries.length > MAX_HELLO_HEADERS)
    throw invalid('headers', `more than ${MAX_HELLO_HEADERS} are not allowed`)
  const merged = new Headers(request.headers)
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || value.length > MAX_HELLO_HEADER_LENGTH || name.length > 256) {
      throw invalid(
        'headers',
        `header "${name.slice(0, 40)}" must be a string of at most ${MAX_HELLO_HEADER_LENGTH} characters`,
      )
    }
    if (BROWSER_HEADERS.test(name)) {
      throw invalid(
        'headers',
        `"${name.slice(0, 40)}" cannot be set in the hello: the server takes it from the upgrade request, where the browser sets it`,
      )
    }
    try {
      merged.set(name, value)
    } catch {
      throw invalid('headers', `"${name.slice(0, 40)}" is not a valid header`)
    }
  }
  return new Request(request.url, { method: request.method, headers: merged })
}

/** The error code a close code stands for, in logs. */
export function closeCode(code: number): string {
  if (code === WS_CLOSE.slowConsumer || code === WS_CLOSE.idle) return 'unavailable'
  if (code === WS_CLOSE.tooBig) return 'payload-too-large'
  return code === WS_CLOSE.internal ? 'internal' : 'protocol'
}
