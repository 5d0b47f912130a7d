import { eventsEqual } from '../../core/event-validation.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, StoreResult } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { SQLITE_PREFIX } from './sqlite-errors.js'
import { truncate } from './sqlite-options.js'
import { rowToEvent } from './sqlite-rows.js'
import type { EventRow } from './sqlite-rows.js'
import type { SqliteStatement } from './sqlite-types.js'

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

/** New events per multi-row INSERT: one call into SQLite per 100 rows, not per row. */
export const INSERT_ROWS = 100

const INSERT = 'INSERT INTO events (id, type, aggregate_id, tenant, data, metadata, created_at) '
const ROW = '(?, ?, ?, ?, ?, ?, ?)'

/** The prepared inserts of {@link insertFresh}: one row, and {@link INSERT_ROWS} rows. */
export interface InsertStatements {
  readonly one: SqliteStatement
  readonly many: SqliteStatement
}

/**
 * Prepares the inserts of {@link insertFresh}.
 * @param prepare - compiles a statement on the store's connection.
 * @returns the statements.
 */
export function prepareInserts(prepare: (sql: string) => SqliteStatement): InsertStatements {
  const values = (rows: number): string => new Array<string>(rows).fill(ROW).join(', ')
  return {
    one: prepare(`${INSERT}VALUES ${values(1)}`),
    many: prepare(`${INSERT}VALUES ${values(INSERT_ROWS)}`),
  }
}

/** Appends the parameters of an event's row to `into`. */
function pushRow(into: unknown[], event: Event, createdAt: number): void {
  const metadata = event.metadata
  into.push(
    event.id,
    event.type,
    event.aggregateId,
    typeof metadata?.tenant === 'string' ? metadata.tenant : null,
    JSON.stringify(event.data),
    metadata === undefined ? null : JSON.stringify(metadata),
    createdAt,
  )
}

/**
 * Inserts the new events of a plan, under the write lock, {@link INSERT_ROWS} per statement and
 * the rest one by one, and fills in their results. The rows of one statement take consecutive
 * sequence numbers in the order of its `VALUES` (AUTOINCREMENT: each is one past the largest
 * yet), so the last row's number gives every one's.
 * @param statements - from {@link prepareInserts}.
 * @param events - the validated batch.
 * @param plan - its plan; `results` of the new events are filled in.
 * @param createdAt - the `created_at` of every row, ms.
 * @throws whatever SQLite throws (the caller's transaction rolls back).
 */
export function insertFresh(
  statements: InsertStatements,
  events: readonly Event[],
  plan: BatchPlan,
  createdAt: number,
): void {
  const { fresh, results } = plan
  const params: unknown[] = []
  let next = 0
  for (; next + INSERT_ROWS <= fresh.length; next += INSERT_ROWS) {
    params.length = 0
    for (let i = next; i < next + INSERT_ROWS; i++) {
      pushRow(params, events[fresh[i] as number] as Event, createdAt)
    }
    const last = BigInt(statements.many.run(...params).lastInsertRowid)
    for (let i = 0; i < INSERT_ROWS; i++) {
      const version = new SequenceVersion(last - BigInt(INSERT_ROWS - 1 - i))
      results[fresh[next + i] as number] = { version, duplicate: false }
    }
  }
  for (; next < fresh.length; next++) {
    params.length = 0
    pushRow(params, events[fresh[next] as number] as Event, createdAt)
    const version = new SequenceVersion(BigInt(statements.one.run(...params).lastInsertRowid))
    results[fresh[next] as number] = { version, duplicate: false }
  }
}
