import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, EventWithVersion } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { SQLITE_PREFIX } from './sqlite-errors.js'
import { truncate } from './sqlite-options.js'

/** A row of the `events` table as the store reads it (INTEGER columns as bigint). */
export interface EventRow {
  readonly seq: bigint
  readonly id: string
  readonly type: string
  readonly aggregate_id: string
  readonly data: string
  readonly metadata: string | null
}

/** The columns every event read selects. */
export const EVENT_COLUMNS = 'seq, id, type, aggregate_id, data, metadata'

/**
 * The event and version of a row.
 * @param row - a row of the `events` table.
 * @returns the event with its version.
 * @throws SyncKitError `internal` when `data` or `metadata` is not JSON (changed outside sync-kit).
 */
export function rowToEvent(row: EventRow): EventWithVersion {
  let event: Event
  try {
    const data: unknown = JSON.parse(row.data)
    event =
      row.metadata === null
        ? { id: row.id, type: row.type, aggregateId: row.aggregate_id, data }
        : {
            id: row.id,
            type: row.type,
            aggregateId: row.aggregate_id,
            data,
            metadata: JSON.parse(row.metadata) as Event['metadata'] & object,
          }
  } catch (error) {
    throw new SyncKitError(
      'internal',
      `${SQLITE_PREFIX} the stored event "${truncate(String(row.id))}" (seq ${String(row.seq)}) has data or metadata that is not JSON; the database was changed outside sync-kit`,
      {},
      { cause: error },
    )
  }
  return { event, version: new SequenceVersion(row.seq) }
}
