import { toWireError } from '../../core/wire-error.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { JSON_CONTENT_TYPE, statusForError } from './protocol.js'
import type { WireErrorBody } from './protocol.js'

/** The tag of every message the HTTP server writes. */
export const COMPONENT = '[sync-kit] [http-server]'

/** A method the route does not serve: 405 with an `Allow` header. */
export class MethodNotAllowed extends Error {
  /**
   * @param method - the request's method.
   * @param allowed - the methods the route serves.
   */
  constructor(
    readonly method: string,
    readonly allowed: readonly string[],
  ) {
    super(
      `${COMPONENT} method ${method.slice(0, 20)} is not allowed here; use ${allowed.join(' or ')}${
        // A browser's CORS preflight, on a handler without the `cors` option.
        method === 'OPTIONS'
          ? " (an OPTIONS request is a browser's CORS preflight: allow the page's origin with the cors option, or sync-kit serve --cors <origin>)"
          : ''
      }`,
    )
  }
}

/**
 * A `protocol` error with its own status.
 * @param message - what was wrong.
 * @param status - the HTTP status (400, 404, …).
 * @returns the error.
 */
export function protocolError(message: string, status: number): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${COMPONENT} ${message}`, { status })
}

/**
 * An `invalid-argument` error about a query parameter.
 * @param argument - the parameter.
 * @param problem - what is wrong with it.
 * @returns the error.
 */
export function invalidArgument(
  argument: string,
  problem: string,
): SyncKitError<'invalid-argument'> {
  return new SyncKitError(
    'invalid-argument',
    `${COMPONENT} query parameter ${argument} ${problem}`,
    {
      argument,
    },
  )
}

/**
 * A JSON response.
 * @param status - the status.
 * @param body - serialised as JSON.
 * @param headers - extra headers.
 * @returns the response.
 */
export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': JSON_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  })
}

/**
 * The wire error body for a failure: internal errors say only that they happened (the log has
 * the details); `closed` and `aborted` travel as `unavailable`.
 * @param error - what was thrown.
 * @param status - the status it maps to.
 * @returns the body.
 */
export function errorPayload(error: unknown, status: number): WireErrorBody {
  if (error instanceof MethodNotAllowed) {
    return { error: { code: 'protocol', message: error.message } }
  }
  // Other 5xx (a timeout, an unknown failure) reveal nothing either.
  if (status >= 500 && status !== 503) return toWireError(undefined, COMPONENT)
  return toWireError(error, COMPONENT)
}

/** `Retry-After` seconds of the handler's own refusals (a limit knows how long it lasts). */
const RETRY_AFTER = new WeakMap<object, number>()

/**
 * An `unavailable` refusal of the handler's own (a limit reached), answered with 503 and this
 * `Retry-After`.
 * @param message - what limit was reached and what to do, without the component tag.
 * @param retryAfterSeconds - the `Retry-After` to send.
 * @returns the error.
 */
export function limitReached(message: string, retryAfterSeconds: number): SyncKitError {
  const error = new SyncKitError('unavailable', `${COMPONENT} ${message}`, {})
  RETRY_AFTER.set(error, retryAfterSeconds)
  return error
}

/**
 * The error response for a failure (405 with `Allow`, 503 with `Retry-After`: 1 s, or what the
 * limit that refused it said).
 * @param error - what was thrown.
 * @returns the response.
 */
export function errorResponse(error: unknown): Response {
  if (error instanceof MethodNotAllowed) {
    return json(405, errorPayload(error, 405), { allow: error.allowed.join(', ') })
  }
  const status = statusForError(error)
  const retryAfter =
    typeof error === 'object' && error !== null ? RETRY_AFTER.get(error) : undefined
  const headers: Record<string, string> =
    status === 503 ? { 'retry-after': String(retryAfter ?? 1) } : {}
  return json(status, errorPayload(error, status), headers)
}
