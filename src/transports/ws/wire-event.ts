import { SyncKitError } from '../../errors/sync-kit-error.js'
import { isObject } from './protocol.js'

/** The fields of a pushed event: exactly those of `Event`. */
const EVENT_FIELDS: ReadonlySet<string> = new Set(['id', 'type', 'aggregateId', 'data', 'metadata'])
/** Longest id, type or aggregate id accepted on the wire. */
const MAX_IDENTIFIER_LENGTH = 512

/**
 * The WebSocket wire's shape check of one pushed event (exactly the `Event` fields, identifiers
 * of 1–512 characters, `metadata` an object), naming the offending field as the HTTP wire does;
 * `validateEvent` in the server core checks the rest.
 * @param item - one element of `events`.
 * @param index - its position, for the message.
 * @returns the item.
 * @throws SyncKitError `invalid-event` with `eventId` and `field` when known.
 */
export function parseWireEvent(item: unknown, index: number): unknown {
  const fail = (field: string, problem: string): never => {
    const id = isObject(item) ? item.id : undefined
    const details: { eventId?: string; field?: string } = {}
    if (typeof id === 'string' && id.length <= MAX_IDENTIFIER_LENGTH) details.eventId = id
    if (field !== '') details.field = field
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [ws-server] events[${index}]${field === '' ? '' : `.${field}`}: ${problem}; events are {id, type, aggregateId, data, metadata?}`,
      details,
    )
  }
  if (!isObject(item)) return fail('', 'not an object')
  for (const key of Object.keys(item)) {
    if (!EVENT_FIELDS.has(key)) fail(key.slice(0, 200), 'is not a field of an event')
  }
  for (const key of ['id', 'type', 'aggregateId'] as const) {
    const value = item[key]
    if (typeof value !== 'string' || value.length < 1 || value.length > MAX_IDENTIFIER_LENGTH) {
      fail(key, `must be a string of 1–${MAX_IDENTIFIER_LENGTH} characters`)
    }
  }
  if (!('data' in item)) fail('data', 'is missing')
  if (item.metadata !== undefined && !isObject(item.metadata)) fail('metadata', 'must be an object')
  return item
}
