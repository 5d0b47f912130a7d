import { SyncKitError } from '../../errors/sync-kit-error.js'
import { validateEvent } from '../../core/event-validation.js'
import { parseStoredEvent } from '../../core/stored-event.js'
import type { EventWithVersion } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { POSTGRES_PREFIX } from './postgres-errors.js'
import type { EncodedEvent } from './postgres-append.js'
import type { EventRow } from './postgres-queries.js'

const COMPONENT = 'postgres'

/**
 * Validates an event and encodes it for the events table. PostgreSQL's `text` cannot hold
 * U+0000, so an id, type, aggregate id or tenant containing it is refused here (inside `data`
 * and `metadata` it is kept: JSON text escapes it).
 * @param event - the event as given.
 * @returns the validated copy with its column values.
 * @throws SyncKitError `invalid-event`.
 */
export function encodeEvent(event: unknown): EncodedEvent {
  const valid = validateEvent(event, COMPONENT)
  const tenant = typeof valid.metadata?.tenant === 'string' ? valid.metadata.tenant : null
  const fields: readonly (readonly [string, string | null])[] = [
    ['id', valid.id],
    ['type', valid.type],
    ['aggregateId', valid.aggregateId],
    ['metadata.tenant', tenant],
  ]
  for (const [field, value] of fields) {
    if (value !== null && value.includes('\u0000')) {
      throw new SyncKitError(
        'invalid-event',
        `${POSTGRES_PREFIX} event ${field === 'id' ? '' : `"${truncate(valid.id.replaceAll('\u0000', '\\u0000'))}" `}has a ${field} containing U+0000, which PostgreSQL text cannot hold; remove the NUL character`,
        field === 'id' ? { field } : { eventId: valid.id, field },
      )
    }
  }
  return {
    event: valid,
    tenant,
    data: JSON.stringify(valid.data),
    metadata: valid.metadata === undefined ? null : JSON.stringify(valid.metadata),
  }
}

/**
 * Turns a row read with `EVENT_COLUMNS` into a fresh event and its version.
 * @param row - the row.
 * @returns the event and version.
 * @throws SyncKitError `internal` when the stored JSON does not parse (the table was changed
 * outside sync-kit).
 */
export function rowToEvent(row: EventRow): EventWithVersion {
  const where = `${POSTGRES_PREFIX} the stored event "${truncate(row.id)}" (seq ${row.seq})`
  return { event: parseStoredEvent(row, where), version: new SequenceVersion(BigInt(row.seq)) }
}

/**
 * Shortens a string for a message.
 * @param s - the string.
 * @returns at most 64 code units and an ellipsis.
 */
export function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s
}

/**
 * Describes a value for a message without printing all of it.
 * @param value - anything.
 * @returns e.g. `"abc"`, `null`, `an object`, `number 3`.
 */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `"${truncate(value)}"`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}
