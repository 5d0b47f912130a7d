import { eventsEqual } from '../../core/event-validation.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, StoreResult } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { toEventWithVersion, toRecord } from './indexeddb-queries.js'
import type { EventRecord } from './indexeddb-queries.js'
import { EVENT_INDEXES } from './indexeddb-schema.js'
import { requestResult } from './indexeddb-transaction.js'

/**
 * Appends the new events of a batch inside its transaction. Reads the last `seq` and every id of
 * the batch at once (two round trips, whatever the batch size), then adds the new events under
 * the next numbers: a duplicate (also within the batch) takes no number.
 * @param events - the `events` store of a `readwrite` transaction.
 * @param batch - the validated events, in order.
 * @param prefix - the store's message prefix.
 * @returns one result per event.
 * @throws SyncKitError `event-id-conflict` (the caller's transaction then aborts: nothing stored).
 */
export async function appendEvents(
  events: IDBObjectStore,
  batch: readonly Event[],
  prefix: string,
): Promise<StoreResult[]> {
  const byId = events.index(EVENT_INDEXES.id)
  const ids = [...new Set(batch.map((event) => event.id))]
  const [last, found] = await Promise.all([
    lastSeq(events),
    Promise.all(ids.map((id) => requestResult<EventRecord | undefined>(byId.get(id)))),
  ])
  const known = new Map<string, EventRecord>()
  ids.forEach((id, i) => {
    const record = found[i]
    if (record !== undefined) known.set(id, record)
  })
  let seq = last
  const results: StoreResult[] = []
  for (const event of batch) {
    const existing = known.get(event.id)
    if (existing !== undefined) {
      if (!eventsEqual(toEventWithVersion(existing).event, event)) {
        throw new SyncKitError(
          'event-id-conflict',
          `${prefix} event "${event.id.slice(0, 64)}" already exists with different content (stored at version ${existing.seq}); nothing of this batch was stored. Events are immutable: record a new event with a new id`,
          { eventId: event.id },
        )
      }
      results.push({ version: new SequenceVersion(existing.seq), duplicate: true })
      continue
    }
    if (seq >= Number.MAX_SAFE_INTEGER) {
      throw new SyncKitError(
        'internal',
        `${prefix} the log holds 2^53 - 1 events, the most an IndexedDB number key counts exactly`,
        {},
      )
    }
    seq += 1
    const record = toRecord(event, seq)
    events.add(record)
    known.set(event.id, record)
    results.push({ version: new SequenceVersion(seq), duplicate: false })
  }
  return results
}

/**
 * The newest `seq` of the log.
 * @param events - the `events` store of a transaction.
 * @returns the `seq`, 0 while empty.
 */
export async function lastSeq(events: IDBObjectStore): Promise<number> {
  const cursor = await requestResult(events.openKeyCursor(null, 'prev'))
  return cursor === null ? 0 : (cursor.key as number)
}
