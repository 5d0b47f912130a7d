import { SyncKitError } from '../../errors/sync-kit-error.js'
import { eventsEqual } from '../../core/event-validation.js'
import type { Checkpoint, CheckpointKey, Event, StoreResult } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { POSTGRES_PREFIX } from './postgres-errors.js'
import { LOCK_CLASS, type PostgresNames } from './postgres-names.js'
import { EVENT_COLUMNS, type EventRow } from './postgres-queries.js'
import { rowToEvent, truncate } from './postgres-rows.js'
import type { Transaction } from './postgres-transaction.js'

/**
 * How appends are kept from becoming visible out of `seq` order (docs/stores.md, "visibility"):
 * - `append-lock`: every appending transaction holds a transaction-level advisory lock from
 *   before it draws sequence numbers until it commits, so sequence order is commit order and a
 *   plain `seq > since` read never sees a later number before an earlier one.
 * - `xmin`: appending transactions draw their numbers and their transaction id together under a
 *   short session-level lock, commit concurrently, and readers serve only rows whose
 *   transaction is older than the oldest transaction still running.
 * @internal Both exist only to be measured against each other (bench/postgres-visibility.ts).
 */
export type VisibilityStrategy = 'append-lock' | 'xmin'

/**
 * Opens an appending transaction: READ COMMITTED whatever the database's default, so that the
 * statements after the append lock see what other appenders committed while this one waited.
 */
export const BEGIN_APPEND = 'BEGIN ISOLATION LEVEL READ COMMITTED'

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
 * already. Runs outside the writing transaction and takes no lock, so a batch of duplicates costs
 * one read: no sequence number, no lock, no write.
 * @param db - the pool (or a transaction).
 * @param names - the store's object names.
 * @param events - the validated, encoded batch.
 * @returns the plan.
 * @throws SyncKitError `event-id-conflict` when an id is in the batch or the table with other
 * content (nothing is written).
 */
export async function planAppend(
  db: Pick<Transaction, 'query'>,
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
 * @param raced - versions of planned-new events that another append stored first (duplicates).
 * @returns one result per input event.
 */
export function appendResults(
  plan: AppendPlan,
  inserted: ReadonlyMap<string, SequenceVersion>,
  raced: ReadonlyMap<string, SequenceVersion> = new Map(),
): StoreResult[] {
  return plan.events.map((encoded, i) => {
    const id = encoded.event.id
    const mine = inserted.get(id)
    const version = mine ?? plan.stored.get(id) ?? raced.get(id)
    return {
      version: version as SequenceVersion,
      duplicate: mine === undefined || plan.firstIndex.get(id) !== i,
    }
  })
}

/**
 * Writes a planned append in ONE statement, its own transaction: takes the append lock (a
 * transaction-level advisory lock, held until the statement commits), reserves the batch's
 * sequence numbers under it, inserts the new events and writes the checkpoint. The lock is held
 * for the statement and its commit only, with no round trip to the client inside it.
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
  db: Pick<Transaction, 'query'>,
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
  text += ' SELECT seq::text AS seq, id FROM inserted'
  const result = await db.query(text, values)
  const inserted = new Map<string, SequenceVersion>()
  for (const row of result.rows as { seq: string; id: string }[]) {
    inserted.set(row.id, new SequenceVersion(BigInt(row.seq)))
  }
  return appendResults(plan, inserted)
}

/**
 * Writes a planned append inside a transaction: inserts the new events (numbering them under the
 * strategy's lock) and the checkpoint. An event another append inserted since the plan was made
 * is answered from the stored row (a duplicate, or a conflict that rolls everything back).
 * @param tx - the transaction (READ COMMITTED).
 * @param names - the store's object names.
 * @param strategy - the visibility strategy.
 * @param plan - from {@link planAppend}.
 * @param checkpoint - the checkpoint to write in the same transaction, if any.
 * @param createdAt - ISO 8601 time for `created_at`.
 * @returns one result per input event.
 * @throws SyncKitError `event-id-conflict` (the caller's transaction rolls back).
 */
export async function writeAppend(
  tx: Transaction,
  names: PostgresNames,
  strategy: VisibilityStrategy,
  plan: AppendPlan,
  checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined,
  createdAt: string,
): Promise<StoreResult[]> {
  const inserted = new Map<string, SequenceVersion>()
  const raced = new Map<string, SequenceVersion>()
  if (plan.fresh.length > 0) {
    const rows = await insertFresh(tx, names, strategy, plan.fresh, createdAt)
    for (const row of rows) inserted.set(row.id, new SequenceVersion(BigInt(row.seq)))
    const missing = plan.fresh.filter((e) => !inserted.has(e.event.id))
    if (missing.length > 0) {
      // Another append stored some of these ids after the plan's read (its numbers for them
      // stay unused): answer from what it stored.
      const existing = await readExisting(
        tx,
        names,
        missing.map((e) => e.event.id),
      )
      for (const encoded of missing) {
        const found = existing.get(encoded.event.id)
        if (found === undefined || !eventsEqual(found.event, encoded.event)) {
          throw conflict(encoded.event.id)
        }
        raced.set(encoded.event.id, found.version)
      }
    }
  }
  if (checkpoint !== undefined) await writeCheckpoint(tx, names, checkpoint.key, checkpoint.value)
  return appendResults(plan, inserted, raced)
}

/**
 * Writes one checkpoint (insert or overwrite).
 * @param tx - a transaction or the pool.
 * @param names - the store's object names.
 * @param key - which remote and direction.
 * @param value - the checkpoint.
 */
export async function writeCheckpoint(
  tx: Pick<Transaction, 'query'>,
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
  db: Pick<Transaction, 'query'>,
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

/**
 * Inserts events planned as new, numbered `first … first + n − 1` in input order from one
 * reservation of the sequence (`nextval`, then `setval` to the range's last number), made under
 * the strategy's lock. `ON CONFLICT DO NOTHING` skips an id another append inserted meanwhile.
 * @returns the inserted rows' `seq` and `id`.
 */
async function insertFresh(
  tx: Transaction,
  names: PostgresNames,
  strategy: VisibilityStrategy,
  fresh: readonly EncodedEvent[],
  createdAt: string,
): Promise<{ seq: string; id: string }[]> {
  const count = fresh.length
  const sequence = `'${names.sequence}'::regclass`
  const reserve = `setval(${sequence}, nextval(${sequence}) + ${count - 1})`
  const lockKey = `${LOCK_CLASS.append}, ${names.lockKey}`
  let with_: string
  let from: string
  if (strategy === 'append-lock') {
    // One statement: the lock CTE is evaluated before the reservation that reads from it, and
    // is held until COMMIT (a transaction-level lock), so numbers are drawn in commit order.
    with_ =
      `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${lockKey})), ` +
      `reserved AS MATERIALIZED (SELECT ${reserve} AS last FROM lock) `
    from = 'reserved r, '
  } else {
    // The xid is assigned inside the lock, so xid order is sequence order across appenders. A
    // failure between lock and unlock would leave the session-level lock held: the connection is
    // then closed instead of returned to the pool, which releases it.
    tx.discardConnection()
    const results = (await tx.query(
      `SELECT pg_advisory_lock(${lockKey}); SELECT ${reserve}::text AS last, pg_current_xact_id(); SELECT pg_advisory_unlock(${lockKey})`,
    )) as unknown as { rows: { last: string }[] }[]
    tx.discardConnection(false)
    const last = (results[1]?.rows[0] as { last: string }).last
    with_ = ''
    from = `(SELECT ${last}::bigint AS last) r, `
  }
  // Crossing batches lock ids in one order (no deadlock while waiting on a concurrent insert).
  const order = strategy === 'xmin' ? ' ORDER BY u.id COLLATE "C"' : ''
  const result = await tx.query(
    `${with_}INSERT INTO ${names.events} (seq, id, type, aggregate_id, tenant, data, metadata, created_at) ` +
      `SELECT r.last - ${count} + u.ord, u.id, u.type, u.aggregate_id, u.tenant, u.data, u.metadata, $7::timestamptz ` +
      `FROM ${from}unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[], $6::json[]) ` +
      `WITH ORDINALITY AS u(id, type, aggregate_id, tenant, data, metadata, ord)${order} ` +
      'ON CONFLICT (id) DO NOTHING RETURNING seq::text AS seq, id',
    [
      fresh.map((e) => e.event.id),
      fresh.map((e) => e.event.type),
      fresh.map((e) => e.event.aggregateId),
      fresh.map((e) => e.tenant),
      fresh.map((e) => e.data),
      fresh.map((e) => e.metadata),
      createdAt,
    ],
  )
  return result.rows as { seq: string; id: string }[]
}

function conflict(id: string): SyncKitError<'event-id-conflict'> {
  return new SyncKitError(
    'event-id-conflict',
    `${POSTGRES_PREFIX} event "${truncate(id)}" is already stored with different content; nothing of this batch was stored. Give a changed event a new id`,
    { eventId: id },
  )
}
