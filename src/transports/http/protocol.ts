import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'

/**
 * The sync-kit wire protocol, shared by the server handler and the client: paths, headers, the
 * error body and the mapping between HTTP status codes and `SyncKitError` codes. HTTP status
 * codes live only in this folder (house style); see `docs/protocol.md` for the prose version.
 */

/**
 * Protocol version, the first path segment under the base path.
 * @example
 * ```ts
 * import { PROTOCOL_PREFIX } from 'sync-kit/http'
 *
 * const health = await fetch(`https://sync.example.com${PROTOCOL_PREFIX}/health`)
 * ```
 */
export const PROTOCOL_PREFIX = '/v1'

/** Route paths under `<basePath>/v1`. */
export const ROUTES = {
  events: '/events',
  version: '/version',
  stream: '/stream',
  health: '/health',
} as const

/** Query parameters of `GET /v1/events` and `GET /v1/stream` that are not filters. */
export const RESERVED_QUERY_PARAMS: ReadonlySet<string> = new Set(['since', 'limit'])

/** The checkpoint `remote` reserved for a server's epoch (see `docs/protocol.md`, "The epoch"). */
export { SERVER_EPOCH_CHECKPOINT_REMOTE } from '../../core/epoch.js'

/** Media type of request and response bodies. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** Media type of the live stream. */
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8'

/**
 * The error body every non-2xx response carries.
 * @example
 * ```ts
 * import type { WireErrorBody } from 'sync-kit/http'
 *
 * const response = await fetch('https://sync.example.com/v1/version')
 * if (!response.ok) {
 *   const { error } = (await response.json()) as WireErrorBody
 *   console.warn(error.code, error.message)
 * }
 * ```
 */
export interface WireErrorBody {
  readonly error: {
    readonly code: string
    readonly message: string
    readonly details?: Readonly<Record<string, string | number>> | undefined
  }
}

/** HTTP status for each error code the server can answer with. */
const STATUS_BY_CODE: Readonly<Partial<Record<SyncKitErrorCode, number>>> = {
  'invalid-event': 422,
  'clock-drift': 422,
  'event-id-conflict': 409,
  'epoch-mismatch': 412,
  'version-parse': 400,
  'version-mismatch': 400,
  'invalid-argument': 400,
  'unsupported-filter': 400,
  'payload-too-large': 413,
  unauthorized: 401,
  forbidden: 403,
  protocol: 400,
  closed: 503,
  unavailable: 503,
  timeout: 504,
  aborted: 503,
}

/**
 * The HTTP status the server answers an error with. A `protocol` error may name its own status
 * (404, 405, 415) in `details.status`.
 * @param error - any thrown value.
 * @returns the status; 500 for anything that is not a known sync-kit error.
 */
export function statusForError(error: unknown): number {
  if (!isSyncKitError(error)) return 500
  if (isSyncKitError(error, 'protocol') && typeof error.details.status === 'number') {
    return error.details.status
  }
  return STATUS_BY_CODE[error.code] ?? 500
}

/** Error codes a client accepts verbatim from a 400 error body. */
const CODES_FROM_400: ReadonlySet<string> = new Set([
  'protocol',
  'invalid-argument',
  'version-parse',
  'version-mismatch',
  'unsupported-filter',
  'invalid-event',
])

/** Statuses worth retrying: the request may succeed later unchanged. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599)
}

/**
 * Turns an HTTP error response into a `SyncKitError` on the client side.
 * @param status - the response status (not 2xx).
 * @param body - the parsed error body, if the response had a valid one.
 * @param what - names the call for the message, e.g. `push`.
 * @returns the error to throw.
 */
export function errorFromResponse(
  status: number,
  body: WireErrorBody | undefined,
  what: string,
): SyncKitError {
  const wire = body?.error
  const remote =
    wire === undefined ? '' : `: ${wire.message.replace(/^\[sync-kit\] /, '').slice(0, 1000)}`
  const prefix = `[sync-kit] [http-client] ${what} failed with HTTP ${status}${remote}`
  // The server's message already says what to do; add our own hint only without one.
  const hint = (text: string): string => (wire === undefined ? `; ${text}` : '')
  const detail = (key: string): string | number | undefined => wire?.details?.[key]
  switch (status) {
    case 401:
      return new SyncKitError(
        'unauthorized',
        `${prefix}${hint('check the credentials your headers callback sends')}`,
        {},
      )
    case 403:
      return new SyncKitError('forbidden', `${prefix}${hint('the principal may not do this')}`, {})
    case 409: {
      const eventId = detail('eventId')
      return new SyncKitError(
        'event-id-conflict',
        `${prefix}${hint('give the changed event a new id')}`,
        {
          eventId: typeof eventId === 'string' ? eventId : '',
        },
      )
    }
    case 412: {
      const expected = detail('expected')
      const actual = detail('actual')
      return new SyncKitError(
        'epoch-mismatch',
        `${prefix}${hint('the server was wiped or replaced; re-send from the beginning')}`,
        {
          expected: typeof expected === 'string' ? expected : '',
          actual: typeof actual === 'string' ? actual : '',
        },
      )
    }
    case 413: {
      const limit = detail('limitBytes')
      return new SyncKitError(
        'payload-too-large',
        `${prefix}${hint("push fewer events per request or raise the server's limits")}`,
        { limitBytes: typeof limit === 'number' ? limit : 0 },
      )
    }
    case 422:
      if (wire?.code === 'clock-drift') return clockDrift(prefix, wire.details)
      return invalidEvent(
        `${prefix}${hint('fix the event and push again')}`,
        detail('eventId'),
        detail('field'),
      )
    case 408:
      return new SyncKitError(
        'timeout',
        `${prefix}${hint('the server timed out reading the request')}`,
        {
          timeoutMs: 0,
        },
      )
    case 400: {
      const code = wire?.code
      if (code !== undefined && CODES_FROM_400.has(code)) {
        return fromBadRequest(code, prefix, wire?.details)
      }
      return new SyncKitError('protocol', `${prefix}${hint('the server rejected the request')}`, {
        status,
      })
    }
    default:
      if (isTransientStatus(status)) {
        return new SyncKitError(
          'unavailable',
          `${prefix}${hint('the server is unavailable, retry later')}`,
          {
            status,
          },
        )
      }
      return new SyncKitError(
        'protocol',
        `${prefix}${hint("is the url a sync-kit server (it should end at the server's base path)?")}`,
        { status },
      )
  }
}

type WireDetails = Readonly<Record<string, string | number>> | undefined

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

/** A server's drift refusal of one pushed event (422 `clock-drift`), naming the event. */
function clockDrift(message: string, details: WireDetails): SyncKitError {
  return new SyncKitError('clock-drift', message, {
    eventId: detailString(details, 'eventId'),
    stamp: detailString(details, 'stamp'),
    driftMs: detailNumber(details, 'driftMs'),
    maxDriftMs: detailNumber(details, 'maxDriftMs'),
  })
}

function invalidEvent(message: string, eventId: unknown, field: unknown): SyncKitError {
  const details: { eventId?: string; field?: string } = {}
  if (typeof eventId === 'string') details.eventId = eventId
  if (typeof field === 'string') details.field = field
  return new SyncKitError('invalid-event', message, details)
}

function fromBadRequest(code: string, prefix: string, details: WireDetails): SyncKitError {
  const str = (key: string): string => detailString(details, key)
  switch (code) {
    case 'invalid-argument':
      return new SyncKitError('invalid-argument', prefix, { argument: str('argument') })
    case 'version-parse':
      return new SyncKitError('version-parse', prefix, { value: str('value') })
    case 'version-mismatch':
      return new SyncKitError('version-mismatch', prefix, {})
    case 'unsupported-filter':
      return new SyncKitError('unsupported-filter', prefix, { key: str('key') })
    case 'invalid-event':
      return invalidEvent(prefix, details?.eventId, details?.field)
    default:
      return new SyncKitError('protocol', prefix, { status: 400 })
  }
}
