import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventMetadata } from '../types/index.js'

/** An event as SQL stores keep it: the identifying columns, and data and metadata as JSON text. */
export interface StoredEventColumns {
  readonly id: string
  readonly type: string
  readonly aggregate_id: string
  /** `data` as JSON text. */
  readonly data: string
  /** `metadata` as JSON text, or `null` for an event without metadata. */
  readonly metadata: string | null
}

/**
 * Rebuilds a fresh event from a stored row, parsing its JSON text, for stores that keep events
 * in SQL tables (SQLite, PostgreSQL). An event stored without metadata comes back without it.
 * @param row - the row's columns.
 * @param where - names the store and row in the error, e.g. `[sync-kit] [postgres] … (seq 4)`.
 * @returns the event.
 * @throws SyncKitError `internal` when `data` or `metadata` is not JSON (the table was changed
 * outside sync-kit), with the parse error as `cause`.
 * @example
 * ```ts
 * import { parseStoredEvent } from '../../core/stored-event.js'
 *
 * const event = parseStoredEvent(row, `${POSTGRES_PREFIX} the stored event (seq ${row.seq})`)
 * ```
 */
export function parseStoredEvent(row: StoredEventColumns, where: string): Event {
  try {
    const data: unknown = JSON.parse(row.data)
    const event: Event = { id: row.id, type: row.type, aggregateId: row.aggregate_id, data }
    if (row.metadata === null) return event
    return { ...event, metadata: JSON.parse(row.metadata) as EventMetadata }
  } catch (error) {
    throw new SyncKitError(
      'internal',
      `${where} has data or metadata that is not JSON; the table was changed outside sync-kit`,
      {},
      { cause: error },
    )
  }
}
