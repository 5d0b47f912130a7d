import { SyncKitError } from '../../errors/sync-kit-error.js'
import { eventsEqual } from '../../core/event-validation.js'
import type { Checkpoint, CheckpointKey, Event, StoreResult } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { POSTGRES_PREFIX } from './postgres-errors.js'
import { LOCK_CLASS, type PostgresNames } from './postgres-names.js'
import { EVENT_COLUMNS, type EventRow } from './postgres-queries.js'
import { rowToEvent, truncate } from './postgres-rows.js'
import type { PostgresPool } from './postgres-types.js'

/** An event checked and encoded for the events table. */
export interface EncodedEvent {
  /** The validated event. */
  readonly event: Event
  /** `metadata.tenant`, or `null`. */
  readonly tenant: string | null
  /** `data` as JSON text. */
  readonly data: string
  /** `metadata` as JSON text, or `null`. */
  readonly metadata: string | null
}

/** A batch with its in-batch duplicates grouped: what an append sends. */
export interface AppendBatch {
  /** The batch, in input order. */
  readonly events: readonly EncodedEvent[]
  /** Index of the first occurrence of each id in the batch. */
  readonly firstIndex: ReadonlyMap<string, number>
  /** First occurrences of each id, in input order: what the append stores unless held already. */
  readonly unique: readonly EncodedEvent[]
}

/** What an append will do once the stored ids are known: known duplicates and the new events. */
export interface AppendPlan extends AppendBatch {
  /** Ids already stored with the same content, with their versions. */
  readonly stored: ReadonlyMap<string, SequenceVersion>
  /** Events to insert: first occurrences of ids not stored yet, in input order. */
  readonly fresh: readonly EncodedEvent[]
}

/** A stored event read back by an append: its content, to tell a duplicate from a conflict. */
export interface StoredEvent {
  readonly event: Event
  readonly version: SequenceVersion
}

/**
 * What the folded append statement did: inserted every event (none of the ids was stored), or
 * inserted nothing and read back the stored events among the ids.
 */
export type FoldedOutcome =
  | { readonly inserted: ReadonlyMap<string, SequenceVersion>; readonly stored?: undefined }
  | { readonly inserted?: undefined; readonly stored: ReadonlyMap<string, StoredEvent> }

/**
 * Groups in-batch duplicates: the first occurrence of an id is the one stored, later ones must
 * be equal to it.
 * @param events - the validated, encoded batch.
 * @returns the batch with its first occurrences.
 * @throws SyncKitError `event-id-conflict` when an id appears twice with different content.
 */
export function groupBatch(events: readonly EncodedEvent[]): AppendBatch {
  const firstIndex = new Map<string, number>()
  const unique: EncodedEvent[] = []
  events.forEach((encoded, i) => {
    const seen = firstIndex.get(encoded.event.id)
    if (seen === undefined) {
      firstIndex.set(encoded.event.id, i)
      unique.push(encoded)
    } else if (!eventsEqual((events[seen] as EncodedEvent).event, encoded.event)) {
      throw conflict(encoded.event.id)
    }
  })
  return { events, firstIndex, unique }
}

/**
 * Plans an append from the stored events among its ids (read back by the folded statement).
 * @param batch - the grouped batch.
 * @param stored - stored events by id (ids of other appends may be there too).
 * @returns the plan: duplicates with their versions, and the events still to insert.
 * @throws SyncKitError `event-id-conflict` when an id is stored with other content (nothing is
 * written).
 */
export function planFromStored(
  batch: AppendBatch,
  stored: ReadonlyMap<string, StoredEvent>,
): AppendPlan {
  const duplicates = new Map<string, SequenceVersion>()
  const fresh: EncodedEvent[] = []
  for (const encoded of batch.unique) {
    const found = stored.get(encoded.event.id)
    if (found === undefined) fresh.push(encoded)
    else if (eventsEqual(found.event, encoded.event)) {
      duplicates.set(encoded.event.id, found.version)
    } else throw conflict(encoded.event.id)
  }
  return { ...batch, stored: duplicates, fresh }
}

/**
 * The plan of a batch none of whose ids is stored.
 * @param batch - the grouped batch.
 * @returns the plan: every first occurrence is new.
 */
export function freshPlan(batch: AppendBatch): AppendPlan {
  return { ...batch, stored: new Map(), fresh: batch.unique }
}

/**
 * The results of a planned append once its new events are written.
 * @param plan - the plan.
 * @param inserted - versions of the events this append inserted.
 * @returns one result per input event.
 */
export function appendResults(
  plan: AppendPlan,
  inserted: ReadonlyMap<string, SequenceVersion>,
): StoreResult[] {
  return plan.events.map((encoded, i) => {
    const id = encoded.event.id
    const mine = inserted.get(id)
    const version = mine ?? plan.stored.get(id)
    return {
      version: version as SequenceVersion,
      duplicate: mine === undefined || plan.firstIndex.get(id) !== i,
    }
  })
}

/**
 * Writes a planned append in ONE statement, its own transaction: takes the append lock (a
 * transaction-level advisory lock, held until the statement commits), reserves the batch's
 * sequence numbers under it, inserts the new events, writes the checkpoint and notifies watchers
 * (`pg_notify`, delivered at commit). The lock is held for the statement and its commit only,
 * with no round trip to the client inside it.
 *
 * Why the lock (docs/stores.md, "Visibility"): a number becomes visible only when its
 * transaction commits, so without it a reader could see 11 before 10 commits and move past 10
 * for good. Holding the lock from before the numbers are drawn until the commit makes sequence
 * order commit order, so a plain `seq > since` read only ever sees a gap-free prefix.
 *
 * The second step of an append whose folded statement ({@link foldedAppend}) found some of its ids
 * stored: it inserts the rest. Without `ON CONFLICT`: when another append stored one of the
 * planned ids since, the statement fails with a unique violation (SQLSTATE 23505) and stores
 * nothing; the caller starts again (the folded statement then finds the id: a duplicate or a
 * conflict). The numbers that statement reserved stay unused.
 * @param db - the pool.
 * @param names - the store's object names.
 * @param plan - from {@link planFromStored}, with at least one new event or a checkpoint.
 * @param checkpoint - the checkpoint to write in the same statement, if any.
 * @param createdAt - ISO 8601 time for `created_at`.
 * @returns one result per input event.
 * @throws the driver's error (23505 on a race, see above).
 */
export async function writeAppendStatement(
  db: Pick<PostgresPool, 'query'>,
  names: PostgresNames,
  plan: AppendPlan,
  checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined,
  createdAt: string,
): Promise<StoreResult[]> {
  const { fresh } = plan
  const count = fresh.length
  if (count === 0) {
    if (checkpoint !== undefined) await writeCheckpoint(db, names, checkpoint.key, checkpoint.value)
    return appendResults(plan, new Map())
  }
  const values = rowValues(fresh, createdAt)
  // The lock CTE is read by the reservation, and the reservation by every write, so the lock is
  // taken before any number is drawn.
  const text =
    `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${LOCK_CLASS.append}, ${names.lockKey})), ` +
    insertClauses(names, count, checkpoint, values, false) +
    ' SELECT r.last::text AS seq FROM reserved r, notified'
  const result = await db.query(text, values)
  return appendResults(plan, numbered(fresh, (result.rows[0] as { seq: string }).seq))
}

/**
 * The versions of a batch the insert numbered: the `count` sequence numbers up to `last`, in order
 * (reserved under the append lock, so no other append drew any of them).
 * @param events - the inserted events, in order.
 * @param last - the last number, as text.
 * @returns each event's version by id.
 */
function numbered(events: readonly EncodedEvent[], last: string): Map<string, SequenceVersion> {
  const end = BigInt(last)
  const count = BigInt(events.length)
  const inserted = new Map<string, SequenceVersion>()
  events.forEach((e, i) =>
    inserted.set(e.event.id, new SequenceVersion(end - count + 1n + BigInt(i))),
  )
  return inserted
}

/**
 * Writes one checkpoint (insert or overwrite).
 * @param tx - the pool.
 * @param names - the store's object names.
 * @param key - which remote and direction.
 * @param value - the checkpoint.
 */
export async function writeCheckpoint(
  tx: Pick<PostgresPool, 'query'>,
  names: PostgresNames,
  key: CheckpointKey,
  value: Checkpoint,
): Promise<void> {
  await tx.query(
    `INSERT INTO ${names.checkpoints} (remote, direction, version, epoch) VALUES ($1, $2, $3, $4) ` +
      'ON CONFLICT (remote, direction) DO UPDATE SET version = excluded.version, epoch = excluded.epoch',
    [key.remote, key.direction, value.version, value.epoch ?? null],
  )
}

/**
 * An append in ONE statement, its own transaction, for a batch whose ids are not known to be
 * stored (the usual case): reads which of the ids are stored; when none is, takes the append
 * lock, reserves the batch's sequence numbers, inserts the events, writes the checkpoint and
 * notifies watchers, all in the same statement; when some are, does nothing else and returns
 * them, so that a batch of duplicates costs one read — no lock, no sequence number, no row, no
 * notification — and the caller plans the rest ({@link planFromStored}, then
 * {@link writeAppendStatement}).
 *
 * Folding the read into the write saves a round trip per append, which measured 0.4–0.5× of a
 * raw `INSERT` without it (docs/benchmarks.md). The read uses the statement's snapshot, taken
 * before the lock: when another append stores one of the ids meanwhile, the insert fails with a
 * unique violation (SQLSTATE 23505), stores nothing, and the caller starts again.
 * @param db - the pool.
 * @param names - the store's object names.
 * @param events - first occurrences of ids, in order; at least one. Several appends merged into
 * one statement may be concatenated here, as long as no id appears twice.
 * @param createdAt - ISO 8601 time for `created_at`: one for all, or one per event (merged
 * appends keep their own).
 * @param checkpoint - the checkpoint to write in the same statement, if any.
 * @returns the versions inserted, or the stored events among the ids.
 * @throws the driver's error (23505 on a race, see above).
 */
export async function foldedAppend(
  db: Pick<PostgresPool, 'query'>,
  names: PostgresNames,
  events: readonly EncodedEvent[],
  createdAt: string | readonly string[],
  checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined,
): Promise<FoldedOutcome> {
  const values = rowValues(events, createdAt)
  const count = events.length
  // `stored` is read first (the lock's condition needs it); the lock only when nothing is stored.
  const text =
    // One index probe per id (the LIMIT keeps the planner from turning it into a join): a plain
    // `id = ANY($1)` let it scan the whole table while its statistics were young, a millisecond
    // per append at 20,000 events and growing with the table.
    `WITH stored AS MATERIALIZED (SELECT e.* FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL ` +
    `(SELECT ${EVENT_COLUMNS} FROM ${names.events} WHERE id = k.id LIMIT 1) e), ` +
    `lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${LOCK_CLASS.append}, ${names.lockKey}) WHERE NOT EXISTS (SELECT 1 FROM stored)), ` +
    insertClauses(names, count, checkpoint, values, typeof createdAt !== 'string') +
    // One row when it inserted (the last number: the batch holds the `count` numbers up to it,
    // in order), the stored events when it did not.
    " SELECT 'i' AS kind, r.last::text AS seq, NULL AS id, NULL AS type, NULL AS aggregate_id, NULL AS data, NULL AS metadata FROM reserved r, notified" +
    " UNION ALL SELECT 's', seq, id, type, aggregate_id, data, metadata FROM stored"
  const result = await db.query(text, values)
  const rows = result.rows as (EventRow & { kind: 'i' | 's' })[]
  const first = rows[0]
  if (first?.kind === 'i') return { inserted: numbered(events, first.seq) }
  const stored = new Map<string, StoredEvent>()
  for (const row of rows) {
    const { event, version } = rowToEvent(row)
    stored.set(event.id, { event, version: version as SequenceVersion })
  }
  return { stored }
}

/** The `$1`…`$7` values of an insert: one array per column, in `unnest` order, and the time. */
function rowValues(
  events: readonly EncodedEvent[],
  createdAt: string | readonly string[],
): unknown[] {
  return [
    events.map((e) => e.event.id),
    events.map((e) => e.event.type),
    events.map((e) => e.event.aggregateId),
    events.map((e) => e.tenant),
    events.map((e) => e.data),
    events.map((e) => e.metadata),
    createdAt,
  ]
}

/**
 * The CTEs after `lock`: `reserved` (the numbers, drawn only when `lock` has a row), `inserted`,
 * the optional `checkpoint` (`$8`…`$11`, pushed onto `values`) and `notified`, which wakes
 * watchers on other instances at commit (NOTIFY is transactional) with the newest version, and
 * only when something was inserted. The table stays the truth: a missed notification only
 * delays a wake-up. Data-modifying CTEs run once each, whether or not they are read.
 */
function insertClauses(
  names: PostgresNames,
  count: number,
  checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined,
  values: unknown[],
  timePerRow: boolean,
): string {
  const sequence = `'${names.sequence}'::regclass`
  const unnest = timePerRow
    ? 'unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[], $6::json[], $7::timestamptz[]) ' +
      'WITH ORDINALITY AS u(id, type, aggregate_id, tenant, data, metadata, created_at, ord)'
    : 'unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[], $6::json[]) ' +
      'WITH ORDINALITY AS u(id, type, aggregate_id, tenant, data, metadata, ord)'
  let text =
    `reserved AS MATERIALIZED (SELECT setval(${sequence}, nextval(${sequence}) + ${count - 1}) AS last FROM lock), ` +
    `inserted AS (INSERT INTO ${names.events} (seq, id, type, aggregate_id, tenant, data, metadata, created_at) ` +
    `SELECT r.last - ${count} + u.ord, u.id, u.type, u.aggregate_id, u.tenant, u.data, u.metadata, ${timePerRow ? 'u.created_at' : '$7::timestamptz'} ` +
    `FROM reserved r, ${unnest})`
  if (checkpoint !== undefined) {
    values.push(checkpoint.key.remote, checkpoint.key.direction, checkpoint.value.version)
    values.push(checkpoint.value.epoch ?? null)
    text +=
      `, checkpoint AS (INSERT INTO ${names.checkpoints} (remote, direction, version, epoch) ` +
      'SELECT $8, $9, $10, $11 FROM reserved ' +
      'ON CONFLICT (remote, direction) DO UPDATE SET version = excluded.version, epoch = excluded.epoch)'
  }
  return (
    text +
    // `reserved` has its row only when the insert runs, which then stores all `count` events
    // (or fails the statement): its last number is the newest version.
    `, notified AS (SELECT pg_notify('${names.channel}', r.last::text) FROM reserved r)`
  )
}

function conflict(id: string): SyncKitError<'event-id-conflict'> {
  return new SyncKitError(
    'event-id-conflict',
    `${POSTGRES_PREFIX} event "${truncate(id)}" is already stored with different content; nothing of this batch was stored. Give a changed event a new id`,
    { eventId: id },
  )
}
