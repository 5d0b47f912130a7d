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

/** What one append writes: the events (validated), a checkpoint, the creation time. */
export interface AppendInput {
  readonly events: readonly EncodedEvent[]
  readonly checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined
  /** ISO 8601 time for `created_at`. */
  readonly createdAt: string
}

/**
 * The statements that open an appending transaction. READ COMMITTED whatever the database's
 * default: each statement must see what other appenders committed while this one waited.
 * @param names - the store's object names.
 * @param strategy - the visibility strategy.
 * @returns SQL without parameters.
 */
export function beginAppend(names: PostgresNames, strategy: VisibilityStrategy): string {
  const begin = 'BEGIN ISOLATION LEVEL READ COMMITTED'
  return strategy === 'append-lock'
    ? `${begin}; SELECT pg_advisory_xact_lock(${LOCK_CLASS.append}, ${names.lockKey})`
    : begin
}

/**
 * Appends a batch inside a transaction opened with {@link beginAppend}: reads which ids exist,
 * answers duplicates from them, rejects conflicts before writing anything, and inserts only the
 * new events, so a duplicate takes no sequence number and writes nothing.
 * @param tx - the transaction.
 * @param names - the store's object names.
 * @param strategy - the visibility strategy.
 * @param input - the events, checkpoint and time.
 * @returns one result per input event.
 * @throws SyncKitError `event-id-conflict` (the caller's transaction rolls back).
 */
export async function appendInTransaction(
  tx: Transaction,
  names: PostgresNames,
  strategy: VisibilityStrategy,
  input: AppendInput,
): Promise<StoreResult[]> {
  const { events } = input
  // First occurrence of each id; a later one must equal it (an in-batch duplicate).
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
  const versions = new Map<string, { version: SequenceVersion; duplicate: boolean }>()
  if (unique.length > 0) {
    const existing = await readExisting(
      tx,
      names,
      unique.map((e) => e.event.id),
    )
    const fresh: EncodedEvent[] = []
    for (const encoded of unique) {
      const stored = existing.get(encoded.event.id)
      if (stored === undefined) fresh.push(encoded)
      else if (eventsEqual(stored.event, encoded.event)) {
        versions.set(encoded.event.id, { version: stored.version, duplicate: true })
      } else throw conflict(encoded.event.id)
    }
    if (fresh.length > 0) {
      const inserted = await insertFresh(tx, names, strategy, fresh, input.createdAt)
      for (const [id, entry] of inserted) versions.set(id, entry)
    }
  }
  if (input.checkpoint !== undefined) {
    await writeCheckpoint(tx, names, input.checkpoint.key, input.checkpoint.value)
  }
  return events.map((encoded, i) => {
    const entry = versions.get(encoded.event.id) as { version: SequenceVersion; duplicate: boolean }
    const first = firstIndex.get(encoded.event.id) === i
    return { version: entry.version, duplicate: entry.duplicate || !first }
  })
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
  tx: Transaction,
  names: PostgresNames,
  ids: readonly string[],
): Promise<Map<string, { event: Event; version: SequenceVersion }>> {
  const result = await tx.query(
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
 * Inserts events known to be new. Their sequence numbers are reserved in one step (`nextval`
 * then `setval` to the last number of the range) under the append lock, so a batch's numbers
 * are consecutive and in input order.
 */
async function insertFresh(
  tx: Transaction,
  names: PostgresNames,
  strategy: VisibilityStrategy,
  fresh: readonly EncodedEvent[],
  createdAt: string,
): Promise<Map<string, { version: SequenceVersion; duplicate: boolean }>> {
  const count = fresh.length
  const reserve = `setval('${names.sequence}'::regclass, nextval('${names.sequence}'::regclass) + ${count - 1})::text AS last`
  let last: bigint
  if (strategy === 'append-lock') {
    const row = (await tx.query(`SELECT ${reserve}`)).rows[0] as { last: string }
    last = BigInt(row.last)
  } else {
    // The xid is assigned inside the lock, so xid order is sequence order across appenders. A
    // failure between lock and unlock would leave the session lock held: the connection is
    // then closed instead of returned to the pool, which releases it.
    tx.discardConnection()
    const key = `${LOCK_CLASS.append}, ${names.lockKey}`
    const results = (await tx.query(
      `SELECT pg_advisory_lock(${key}); SELECT ${reserve}, pg_current_xact_id()::text AS xid; SELECT pg_advisory_unlock(${key})`,
    )) as unknown as { rows: { last: string }[] }[]
    last = BigInt((results[1]?.rows[0] as { last: string }).last)
    tx.discardConnection(false)
  }
  const first = last - BigInt(count) + 1n
  const seqs = fresh.map((_, i) => (first + BigInt(i)).toString())
  // Concurrent xmin appenders may insert the same new id: lock the ids in one order (no
  // deadlock) and let the later one find the earlier one's row.
  const conflictClause =
    strategy === 'xmin' ? ' ORDER BY u.id COLLATE "C" ON CONFLICT (id) DO NOTHING RETURNING id' : ''
  const result = await tx.query(
    `INSERT INTO ${names.events} (seq, id, type, aggregate_id, tenant, data, metadata, created_at) ` +
      'SELECT u.seq, u.id, u.type, u.aggregate_id, u.tenant, u.data, u.metadata, $8::timestamptz ' +
      'FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::json[], $7::json[]) ' +
      'AS u(seq, id, type, aggregate_id, tenant, data, metadata)' +
      conflictClause,
    [
      seqs,
      fresh.map((e) => e.event.id),
      fresh.map((e) => e.event.type),
      fresh.map((e) => e.event.aggregateId),
      fresh.map((e) => e.tenant),
      fresh.map((e) => e.data),
      fresh.map((e) => e.metadata),
      createdAt,
    ],
  )
  const versions = new Map<string, { version: SequenceVersion; duplicate: boolean }>()
  fresh.forEach((e, i) =>
    versions.set(e.event.id, { version: new SequenceVersion(first + BigInt(i)), duplicate: false }),
  )
  if (strategy === 'xmin' && (result.rowCount ?? 0) < count) {
    // Another appender inserted some of these ids meanwhile (it committed: the insert waited for
    // it). Answer from what it stored; its reserved numbers stay unused.
    const inserted = new Set((result.rows as { id: string }[]).map((r) => r.id))
    const raced = fresh.filter((e) => !inserted.has(e.event.id))
    const existing = await readExisting(
      tx,
      names,
      raced.map((e) => e.event.id),
    )
    for (const encoded of raced) {
      const stored = existing.get(encoded.event.id)
      if (stored === undefined || !eventsEqual(stored.event, encoded.event)) {
        throw conflict(encoded.event.id)
      }
      versions.set(encoded.event.id, { version: stored.version, duplicate: true })
    }
  }
  return versions
}

function conflict(id: string): SyncKitError<'event-id-conflict'> {
  return new SyncKitError(
    'event-id-conflict',
    `${POSTGRES_PREFIX} event "${truncate(id)}" is already stored with different content; nothing of this batch was stored. Give a changed event a new id`,
    { eventId: id },
  )
}
