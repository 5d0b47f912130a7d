import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'

/**
 * The error body every wire carries (an HTTP error response, an SSE `error` message, a WebSocket
 * `error` message): a sync-kit error code, a message saying what to do, string or number details.
 */
export interface WireErrorBody {
  /** The error. */
  readonly error: {
    /** A sync-kit error code (`SyncKitErrorCode`), e.g. `payload-too-large`. */
    readonly code: string
    /** What was wrong and what to do. */
    readonly message: string
    /** The code's details (`SyncKitErrorDetails`), when it has any. */
    readonly details?: Readonly<Record<string, string | number>> | undefined
  }
}

/** The details of a wire error body. */
export type WireDetails = Readonly<Record<string, string | number>> | undefined

/**
 * The wire error body for a failure on a server: internal errors (and anything that is not a
 * `SyncKitError`) say only that they happened, the server log has the details; `closed` and
 * `aborted` travel as `unavailable`; details keep their string and number values.
 * @param error - what was thrown.
 * @param component - the tag of the server's messages, e.g. `[sync-kit] [http-server]`.
 * @returns the body.
 */
export function toWireError(error: unknown, component: string): WireErrorBody {
  if (!isSyncKitError(error) || error.code === 'internal') {
    return {
      error: {
        code: 'internal',
        message: `${component} internal error; the server log has the details`,
      },
    }
  }
  const details: Record<string, string | number> = {}
  for (const [key, value] of Object.entries(error.details as Record<string, unknown>)) {
    if (typeof value === 'string' || typeof value === 'number') details[key] = value
  }
  return {
    error: {
      code: error.code === 'closed' || error.code === 'aborted' ? 'unavailable' : error.code,
      message: withComponent(error.message, component),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    },
  }
}

/** Tags a message with the server component unless another component already tagged it. */
function withComponent(message: string, component: string): string {
  if (/^\[sync-kit\] \[[^\]]+\] /.test(message)) return message
  return `${component} ${message.replace(/^\[sync-kit\] /, '')}`
}

/** A string detail of an error body, `''` when absent or not a string. */
function detailString(details: WireDetails, key: string): string {
  const value = details?.[key]
  return typeof value === 'string' ? value : ''
}

/** A number detail of an error body, `0` when absent or not a number. */
function detailNumber(details: WireDetails, key: string): number {
  const value = details?.[key]
  return typeof value === 'number' ? value : 0
}

/**
 * The client side of a wire error: the `SyncKitError` a code and its details stand for, with the
 * details each code's type names (`eventId` and `field` of `invalid-event`, `expected`/`actual`
 * of `epoch-mismatch`, the drift bound of `clock-drift`, …). An unknown code is `protocol`.
 * @param code - the body's code.
 * @param message - the message to throw with (the client's prefix and the server's message).
 * @param details - the body's details.
 * @returns the error.
 */
export function errorFromWire(code: string, message: string, details: WireDetails): SyncKitError {
  const str = (key: string): string => detailString(details, key)
  switch (code) {
    case 'invalid-argument':
      return new SyncKitError('invalid-argument', message, { argument: str('argument') })
    case 'version-parse':
      return new SyncKitError('version-parse', message, { value: str('value') })
    case 'version-mismatch':
      return new SyncKitError('version-mismatch', message, {})
    case 'unsupported-filter':
      return new SyncKitError('unsupported-filter', message, { key: str('key') })
    case 'invalid-event': {
      const found: { eventId?: string; field?: string } = {}
      if (typeof details?.eventId === 'string') found.eventId = details.eventId
      if (typeof details?.field === 'string') found.field = details.field
      return new SyncKitError('invalid-event', message, found)
    }
    case 'clock-drift':
      return new SyncKitError('clock-drift', message, {
        eventId: str('eventId'),
        stamp: str('stamp'),
        driftMs: detailNumber(details, 'driftMs'),
        maxDriftMs: detailNumber(details, 'maxDriftMs'),
      })
    case 'event-id-conflict':
      return new SyncKitError('event-id-conflict', message, { eventId: str('eventId') })
    case 'epoch-mismatch':
      return new SyncKitError('epoch-mismatch', message, {
        expected: str('expected'),
        actual: str('actual'),
      })
    case 'payload-too-large': {
      const eventId = details?.eventId
      return new SyncKitError('payload-too-large', message, {
        limitBytes: detailNumber(details, 'limitBytes'),
        ...(typeof eventId === 'string' ? { eventId } : {}),
      })
    }
    case 'unauthorized':
    case 'forbidden':
    case 'internal':
      return new SyncKitError(code, message, {})
    case 'unavailable':
      return new SyncKitError('unavailable', message, {})
    case 'timeout':
      return new SyncKitError('timeout', message, { timeoutMs: detailNumber(details, 'timeoutMs') })
    default:
      return new SyncKitError('protocol', message, {})
  }
}
