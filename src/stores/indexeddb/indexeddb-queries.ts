import { compileFilterGroups } from '../../core/filters.js'
import type { FilterGroups } from '../../core/filters.js'
import type { Event, EventMetadata, EventWithVersion } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { EVENT_INDEXES, STORES } from './indexeddb-schema.js'
import { requestResult } from './indexeddb-transaction.js'
import type { IndexedDbKeyRangeClass } from './indexeddb-types.js'

/** A record of the `events` store: the event's fields beside its `seq` (the version). */
export interface EventRecord {
  /** The version: the key of the `events` store. */
  readonly seq: number
  /** The event id (unique index `id`). */
  readonly id: string
  /** The event type (index `type_seq`). */
  readonly type: string
  /** The aggregate id (index `aggregateId_seq`). */
  readonly aggregateId: string
  /** The event's data. */
  readonly data: unknown
  /** The event's metadata; `metadata.tenant` feeds index `tenant_seq`. */
  readonly metadata?: EventMetadata
}

/**
 * The record of a validated event at `seq`.
 * @param event - the event (a validated copy).
 * @param seq - its version.
 * @returns the record to `add`.
 */
export function toRecord(event: Event, seq: number): EventRecord {
  const { id, type, aggregateId, data, metadata } = event
  return metadata === undefined
    ? { seq, id, type, aggregateId, data }
    : { seq, id, type, aggregateId, data, metadata }
}

/**
 * The event and version of a record read from the database (a fresh structured clone: the
 * caller may keep or change it without reaching the stored copy).
 * @param record - the record.
 * @returns the event with its version.
 */
export function toEventWithVersion(record: EventRecord): EventWithVersion {
  const { id, type, aggregateId, data, metadata } = record
  const event: Event =
    metadata === undefined
      ? { id, type, aggregateId, data }
      : { id, type, aggregateId, data, metadata }
  return { event, version: new SequenceVersion(record.seq) }
}

/** Largest `count` IndexedDB's `getAll` accepts. */
const MAX_COUNT = 2 ** 32 - 1
/** Records read per request while scanning an index with filters still to check. */
const SCAN_CHUNK = 256

/** A load, checked: strictly after `after`, at most `limit`, these filters. */
export interface LoadQuery {
  /** Events with `seq` greater than this. */
  readonly after: number
  /** At most this many, or all. */
  readonly limit: number | undefined
  /** Only this aggregate's events (`loadByAggregate`). */
  readonly aggregateId: string | undefined
  /** The filters, grouped, or `undefined` for none. */
  readonly groups: FilterGroups | undefined
}

/**
 * Loads the records a query asks for, oldest first, inside `transaction` (read-only, on
 * `events`). Without filters it reads the log from `after` on; with them it walks one index (the
 * aggregate's for `loadByAggregate`; else the filter key whose values match the fewest events,
 * counted first) from `[value, after]` on, checks the other filter keys per record, and merges
 * the values' runs by `seq`.
 * @param transaction - the transaction.
 * @param ranges - the `IDBKeyRange` class.
 * @param query - the checked query.
 * @returns the records.
 */
export async function loadRecords(
  transaction: IDBTransaction,
  ranges: IndexedDbKeyRangeClass,
  query: LoadQuery,
): Promise<EventRecord[]> {
  const events = transaction.objectStore(STORES.events)
  const { after, limit, aggregateId, groups } = query
  if (aggregateId === undefined && groups === undefined) {
    const range = ranges.lowerBound(after, true) as IDBKeyRange
    return (await requestResult(
      events.getAll(range, limit === undefined ? undefined : Math.min(limit, MAX_COUNT)),
    )) as EventRecord[]
  }
  const driver =
    aggregateId !== undefined
      ? { index: EVENT_INDEXES.aggregate, values: [aggregateId] }
      : await chooseIndex(events, ranges, after, groups as FilterGroups)
  // Records of the walked index match its own key; the others are checked per record (the check
  // of all groups repeats the walked one, which costs a comparison and saves a copy of the groups).
  const others =
    aggregateId !== undefined ? groups !== undefined : Object.keys(groups ?? {}).length > 1
  const match = others ? compileFilterGroups(groups) : undefined
  const index = events.index(driver.index)
  const runs = await Promise.all(
    driver.values.map((value) => scan(index, ranges, value, after, limit, match)),
  )
  if (runs.length === 1) return runs[0] as EventRecord[]
  const merged = runs.flat().sort((a, b) => a.seq - b.seq)
  return limit === undefined ? merged : merged.slice(0, limit)
}

type GroupKey = keyof FilterGroups

const INDEX_OF: Readonly<Record<GroupKey, string>> = {
  aggregateId: EVENT_INDEXES.aggregate,
  type: EVENT_INDEXES.type,
  tenant: EVENT_INDEXES.tenant,
}

/** The filter key to walk by index: the only one, or the one matching the fewest events. */
async function chooseIndex(
  events: IDBObjectStore,
  ranges: IndexedDbKeyRangeClass,
  after: number,
  groups: FilterGroups,
): Promise<{ key: GroupKey; index: string; values: readonly string[] }> {
  const keys = (['aggregateId', 'type', 'tenant'] as const).filter((k) => groups[k] !== undefined)
  const candidates = keys.map((key) => ({
    key,
    index: INDEX_OF[key],
    values: groups[key] as readonly string[],
  }))
  if (candidates.length === 1) return candidates[0] as (typeof candidates)[number]
  const counts = await Promise.all(
    candidates.map(async ({ index, values }) => {
      const counted = await Promise.all(
        values.map((value) =>
          requestResult(events.index(index).count(rangeAfter(ranges, value, after))),
        ),
      )
      return counted.reduce((sum, n) => sum + n, 0)
    }),
  )
  let best = 0
  for (let i = 1; i < counts.length; i++) {
    if ((counts[i] as number) < (counts[best] as number)) best = i
  }
  return candidates[best] as (typeof candidates)[number]
}

/** The index range `[value, seq]` for every `seq` after `after`. */
function rangeAfter(ranges: IndexedDbKeyRangeClass, value: string, after: number): IDBKeyRange {
  return ranges.bound([value, after], [value, Infinity], true, false) as IDBKeyRange
}

/**
 * The records of one index value after `after` that pass `match`, oldest first, at most `limit`:
 * with nothing to check, one `getAll`; else chunks of {@link SCAN_CHUNK} (or `limit`) until
 * enough matched.
 */
async function scan(
  index: IDBIndex,
  ranges: IndexedDbKeyRangeClass,
  value: string,
  after: number,
  limit: number | undefined,
  match: ((event: Event) => boolean) | undefined,
): Promise<EventRecord[]> {
  if (match === undefined) {
    const count = limit === undefined ? undefined : Math.min(limit, MAX_COUNT)
    return (await requestResult(
      index.getAll(rangeAfter(ranges, value, after), count),
    )) as EventRecord[]
  }
  const out: EventRecord[] = []
  const chunk = limit === undefined ? undefined : Math.min(Math.max(limit, SCAN_CHUNK), MAX_COUNT)
  let from = after
  for (;;) {
    const records = (await requestResult(
      index.getAll(rangeAfter(ranges, value, from), chunk),
    )) as EventRecord[]
    for (const record of records) {
      if (!match(record as unknown as Event)) continue
      out.push(record)
      if (limit !== undefined && out.length >= limit) return out
    }
    const last = records[records.length - 1]
    if (chunk === undefined || last === undefined || records.length < chunk) return out
    from = last.seq
  }
}
