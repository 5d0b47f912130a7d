import { eventsEqual } from '../../core/event-validation.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, StoreResult } from '../../types/index.js'
import { SQLITE_PREFIX } from './sqlite-errors.js'
import { truncate } from './sqlite-options.js'
import { rowToEvent } from './sqlite-rows.js'
import type { EventRow } from './sqlite-rows.js'

/** What the store decided about a batch before writing it. */
export interface BatchPlan {
  /** One result per event; the new events' slots are filled once they are inserted. */
  readonly results: StoreResult[]
  /** Indexes of the events to insert, in batch order. */
  readonly fresh: readonly number[]
  /** `[index, first]`: an in-batch repeat of a new id, and the index of its first occurrence. */
  readonly repeats: readonly (readonly [number, number])[]
}

function idConflict(id: string): SyncKitError<'event-id-conflict'> {
  return new SyncKitError(
    'event-id-conflict',
    `${SQLITE_PREFIX} event "${truncate(id)}" is already stored with different content; nothing of this batch was stored. Give a changed event a new id`,
    { eventId: id },
  )
}

/**
 * Decides, from the stored rows of the batch's ids, which events of a batch are new: the results of the
 * duplicates (stored ones, and repeats of an id within the batch) are filled in, the new ones
 * are listed for insertion. The store runs it before taking the write lock (a batch of
 * duplicates then writes nothing) and again under it.
 * @param events - the validated batch, in order.
 * @param stored - the stored rows of the batch's ids (read in one statement), by id.
 * @returns the plan.
 * @throws SyncKitError `event-id-conflict` when an id is stored, or repeated in the batch, with
 * other content.
 */
export function planBatch(
  events: readonly Event[],
  stored: ReadonlyMap<string, EventRow>,
): BatchPlan {
  const results: StoreResult[] = new Array<StoreResult>(events.length)
  const fresh: number[] = []
  const repeats: [number, number][] = []
  const firstIndex = new Map<string, number>()
  events.forEach((event, index) => {
    const first = firstIndex.get(event.id)
    if (first !== undefined) {
      if (!eventsEqual(events[first] as Event, event)) throw idConflict(event.id)
      const known = results[first]
      if (known !== undefined) results[index] = { version: known.version, duplicate: true }
      else repeats.push([index, first])
      return
    }
    firstIndex.set(event.id, index)
    const row = stored.get(event.id)
    if (row === undefined) {
      fresh.push(index)
      return
    }
    const existing = rowToEvent(row)
    if (!eventsEqual(existing.event, event)) throw idConflict(event.id)
    results[index] = { version: existing.version, duplicate: true }
  })
  return { results, fresh, repeats }
}
