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

/** What an append will do, decided before any write: known duplicates and the new events. */
export interface AppendPlan {
  /** The batch, in input order. */
  readonly events: readonly EncodedEvent[]
  /** Index of the first occurrence of each id in the batch. */
  readonly firstIndex: ReadonlyMap<string, number>
  /** Ids already stored with the same content, with their versions. */
  readonly stored: ReadonlyMap<string, SequenceVersion>
  /** Events to insert: first occurrences of ids not stored yet, in input order. */
  readonly fresh: readonly EncodedEvent[]
}

/**
 * Plans an append: groups in-batch duplicates, then reads in one statement which ids are stored
 * already. Runs before the write and takes no lock, so a batch of duplicates costs one read: no
 * sequence number, no lock, no write.
 * @param db - the pool.
 * @param names - the store's object names.
 * @param events - the validated, encoded batch.
 * @returns the plan.
 * @throws SyncKitError `event-id-conflict` when an id is in the batch or the table with other
 * content (nothing is written).
 */
export async function planAppend(
  db: Pick<PostgresPool, 'query'>,
  names: PostgresNames,
  events: readonly EncodedEvent[],
): Promise<AppendPlan> {
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
  const stored = new Map<string, SequenceVersion>()
  const fresh: EncodedEvent[] = []
  if (unique.length > 0) {
    const existing = await readExisting(
      db,
      names,
      unique.map((e) => e.event.id),
    )
    for (const encoded of unique) {
      const found = existing.get(encoded.event.id)
      if (found === undefined) fresh.push(encoded)
      else if (eventsEqual(found.event, encoded.event)) stored.set(encoded.event.id, found.version)
      else throw conflict(encoded.event.id)
    }
  }
  return { events, firstIndex, stored, fresh }
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
 * Without `ON CONFLICT`: when another append stored one of the planned ids since the plan's read,
 * the statement fails with a unique violation (SQLSTATE 23505) and stores nothing; the caller
 * plans again (the read then finds the id: a duplicate or a conflict). The numbers that statement
 * reserved stay unused.
 * @param db - the pool.
 * @param names - the store's object names.
 * @param plan - from {@link planAppend}, with at least one new event or a checkpoint.
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
  const sequence = `'${names.sequence}'::regclass`
  const values: unknown[] = [
    fresh.map((e) => e.event.id),
    fresh.map((e) => e.event.type),
    fresh.map((e) => e.event.aggregateId),
    fresh.map((e) => e.tenant),
    fresh.map((e) => e.data),
    fresh.map((e) => e.metadata),
    createdAt,
  ]
  // Data-modifying CTEs run once each; the lock CTE is read by the reservation, and the
  // reservation by both writes, so the lock is taken before any number is drawn.
  let text =
    `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${LOCK_CLASS.append}, ${names.lockKey})), ` +
    `reserved AS MATERIALIZED (SELECT setval(${sequence}, nextval(${sequence}) + ${count - 1}) AS last FROM lock), ` +
    `inserted AS (INSERT INTO ${names.events} (seq, id, type, aggregate_id, tenant, data, metadata, created_at) ` +
    `SELECT r.last - ${count} + u.ord, u.id, u.type, u.aggregate_id, u.tenant, u.data, u.metadata, $7::timestamptz ` +
    'FROM reserved r, unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[], $6::json[]) ' +
    'WITH ORDINALITY AS u(id, type, aggregate_id, tenant, data, metadata, ord) RETURNING seq, id)'
  if (checkpoint !== undefined) {
    values.push(checkpoint.key.remote, checkpoint.key.direction, checkpoint.value.version)
    values.push(checkpoint.value.epoch ?? null)
    text +=
      `, checkpoint AS (INSERT INTO ${names.checkpoints} (remote, direction, version, epoch) ` +
      'SELECT $8, $9, $10, $11 FROM reserved ' +
      'ON CONFLICT (remote, direction) DO UPDATE SET version = excluded.version, epoch = excluded.epoch)'
  }
  // Wakes watchers on other instances at commit (NOTIFY is transactional); the payload is the
  // newest version. The table stays the truth: a missed notification only delays a wake-up.
  text +=
    `, notified AS (SELECT pg_notify('${names.channel}', max(seq)::text) FROM inserted) ` +
    'SELECT i.seq::text AS seq, i.id FROM inserted i, notified'
  const result = await db.query(text, values)
  const inserted = new Map<string, SequenceVersion>()
  for (const row of result.rows as { seq: string; id: string }[]) {
    inserted.set(row.id, new SequenceVersion(BigInt(row.seq)))
  }
  return appendResults(plan, inserted)
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

async function readExisting(
  db: Pick<PostgresPool, 'query'>,
  names: PostgresNames,
  ids: readonly string[],
): Promise<Map<string, { event: Event; version: SequenceVersion }>> {
  const result = await db.query(
    `SELECT ${EVENT_COLUMNS} FROM ${names.events} WHERE id = ANY($1::text[])`,
    [ids],
  )
  const found = new Map<string, { event: Event; version: SequenceVersion }>()
  for (const row of result.rows as EventRow[]) {
    const { event, version } = rowToEvent(row)
    found.set(event.id, { event, version: version as SequenceVersion })
  }
  return found
}

function conflict(id: string): SyncKitError<'event-id-conflict'> {
  return new SyncKitError(
    'event-id-conflict',
    `${POSTGRES_PREFIX} event "${truncate(id)}" is already stored with different content; nothing of this batch was stored. Give a changed event a new id`,
    { eventId: id },
  )
}
