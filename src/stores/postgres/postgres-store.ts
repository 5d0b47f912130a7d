import { throwIfAborted } from '../../errors/abort.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import {
  checkBatchCheckpoint,
  checkCheckpointKey,
  checkCheckpointValue,
} from '../../core/checkpoint.js'
import {
  groupFilters,
  includeTombstones,
  validateLimit,
  type FilterGroups,
} from '../../core/filters.js'
import { checkStateKey, checkStateValue } from '../../core/state.js'
import { SYSTEM_CLOCK } from '../../core/timers.js'
import type {
  Checkpoint,
  CheckpointKey,
  Clock,
  Event,
  EventWithVersion,
  JsonValue,
  LoadOptions,
  SignalOptions,
  StoreBatchOptions,
  StoreResult,
  Version,
} from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import {
  appendResults,
  foldedAppend,
  freshPlan,
  groupBatch,
  planFromStored,
  writeAppendStatement,
  writeCheckpoint,
} from './postgres-append.js'
import { AppendQueue } from './postgres-append-queue.js'
import { POSTGRES_PREFIX, errorCode, toSyncKitError } from './postgres-errors.js'
import { migratePostgresSchema } from './postgres-migrations.js'
import { resolveNames, type PostgresNames } from './postgres-names.js'
import { buildLoadQuery, type EventRow } from './postgres-queries.js'
import { describe, encodeEvent, rowToEvent } from './postgres-rows.js'
import { raceAbort } from './postgres-connection.js'
import type {
  PostgresPool,
  PostgresStore,
  PostgresStoreOptions,
  PostgresWatchOptions,
} from './postgres-types.js'
import { watchChannel } from './postgres-watch.js'

/** The largest `seq` a `bigint` column holds. */
const MAX_SEQ = 2n ** 63n - 1n

/** SQLSTATE unique_violation: an append raced another one storing the same id. */
const UNIQUE_VIOLATION = '23505'

/** Plans and writes of one append before a persisting race is reported. */
const MAX_APPEND_ATTEMPTS = 3

/** The meta table key of the epoch. */
const EPOCH_KEY = 'epoch'

/**
 * Creates an event store in a PostgreSQL database reached through a `pg` pool you created:
 * creates or migrates its tables (see `docs/stores.md`), then resolves. Safe to call from several
 * processes at once on one database: they migrate once, and share one log.
 *
 * The store never ends your pool; end it yourself after `store.close()`.
 *
 * @param options - the pool, where the tables live, the clock.
 * @returns the store, once its schema is ready.
 * @throws SyncKitError `invalid-argument` for bad options; `incompatible-database` when the tables
 * were written by a newer sync-kit, or tables with the store's names exist that it did not create;
 * `unavailable` when the database cannot be reached (with the driver's error as `cause`);
 * `internal` for other database errors (e.g. a missing privilege).
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createPostgresStore } from 'sync-kit/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const store = await createPostgresStore({ pool })
 * await store.storeBatch([{ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }])
 * await store.close()
 * await pool.end()
 * ```
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalid(
      'options',
      `createPostgresStore needs an options object, got ${describe(options)}`,
    )
  }
  const pool = (options as { pool?: unknown }).pool as Partial<PostgresPool> | undefined
  if (
    typeof pool !== 'object' ||
    pool === null ||
    typeof pool.connect !== 'function' ||
    typeof pool.query !== 'function'
  ) {
    throw invalid(
      'pool',
      `createPostgresStore needs a \`pool\` (a pg Pool: new pg.Pool(config)), got ${describe(pool)}`,
    )
  }
  const names = resolveNames(options.schema, options.tablePrefix)
  const clock = options.clock ?? SYSTEM_CLOCK
  if (typeof clock !== 'object' || (clock as unknown) === null || typeof clock.now !== 'function') {
    throw invalid(
      'clock',
      `option clock must be an object with a now() method, got ${describe(clock)}`,
    )
  }
  await migratePostgresSchema(options.pool, names)
  return new PostgresEventStore(options.pool, names, clock)
}

class PostgresEventStore implements PostgresStore {
  readonly pool: PostgresPool
  readonly #names: PostgresNames
  readonly #clock: Clock
  /** Calls still running, awaited by `close()`. */
  readonly #running = new Set<Promise<unknown>>()
  /** Stop functions of the running watchers, called by `close()`. */
  readonly #watchers = new Set<() => Promise<void>>()
  /** The folded statements of appends, one in flight, concurrent appends merged. */
  readonly #appends: AppendQueue
  #closed = false

  constructor(pool: PostgresPool, names: PostgresNames, clock: Clock) {
    this.pool = pool
    this.#names = names
    this.#clock = clock
    this.#appends = new AppendQueue((events, createdAt, checkpoint) =>
      foldedAppend(pool, names, events, createdAt, checkpoint),
    )
  }

  async store(event: Event, options?: SignalOptions): Promise<StoreResult> {
    const signal = options?.signal
    const results = await this.#append('store', [event], signal === undefined ? {} : { signal })
    return results[0] as StoreResult
  }

  async storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]> {
    return this.#append('storeBatch', events, options)
  }

  async load(since: Version | null, options?: LoadOptions): Promise<EventWithVersion[]> {
    return this.#load('load', undefined, since, options)
  }

  async loadByAggregate(
    aggregateId: string,
    since: Version | null,
    options?: LoadOptions,
  ): Promise<EventWithVersion[]> {
    if (typeof aggregateId !== 'string' || aggregateId === '') {
      this.#guard('loadByAggregate', options?.signal)
      throw invalid(
        'aggregateId',
        `loadByAggregate needs a non-empty aggregateId, got ${describe(aggregateId)}`,
      )
    }
    return this.#load('loadByAggregate', aggregateId, since, options)
  }

  async latestVersion(options?: SignalOptions): Promise<SequenceVersion> {
    const signal = options?.signal
    this.#guard('latestVersion', signal)
    const row = await this.#read('latestVersion', signal, async () => {
      // Safe to serve whole: appends commit in sequence order (see postgres-append.ts).
      const result = await this.pool.query(
        `SELECT max(seq)::text AS seq FROM ${this.#names.events}`,
      )
      return result.rows[0] as { seq: string | null } | undefined
    })
    return row?.seq == null ? SequenceVersion.ZERO : new SequenceVersion(BigInt(row.seq))
  }

  parseVersion(value: string): SequenceVersion {
    return SequenceVersion.parse(value)
  }

  async getCheckpoint(
    key: CheckpointKey,
    options?: SignalOptions,
  ): Promise<Checkpoint | undefined> {
    const signal = options?.signal
    this.#guard('getCheckpoint', signal)
    const checked = checkCheckpointKey(key, 'postgres')
    if (hasNul(checked.remote)) return undefined
    const row = await this.#read('getCheckpoint', signal, async () => {
      const result = await this.pool.query(
        `SELECT version, epoch FROM ${this.#names.checkpoints} WHERE remote = $1 AND direction = $2`,
        [checked.remote, checked.direction],
      )
      return result.rows[0] as { version: string; epoch: string | null } | undefined
    })
    if (row === undefined) return undefined
    return row.epoch === null
      ? { version: row.version }
      : { version: row.version, epoch: row.epoch }
  }

  async setCheckpoint(
    key: CheckpointKey,
    value: Checkpoint,
    options?: SignalOptions,
  ): Promise<void> {
    const signal = options?.signal
    this.#guard('setCheckpoint', signal)
    const checked = checkedCheckpoint(key, value)
    // One statement, atomic on its own. Once it is sent the call reports its outcome.
    await this.#write('setCheckpoint', () =>
      writeCheckpoint(this.pool, this.#names, checked.key, checked.value),
    )
  }

  async getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined> {
    const signal = options?.signal
    this.#guard('getState', signal)
    const checked = checkStateKey(key, 'postgres')
    if (hasNul(checked)) return undefined
    const row = await this.#read('getState', signal, async () => {
      const result = await this.pool.query(
        `SELECT value FROM ${this.#names.state} WHERE key = $1`,
        [checked],
      )
      return result.rows[0] as { value: string } | undefined
    })
    return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue)
  }

  async setState(
    key: string,
    value: JsonValue | undefined,
    options?: SignalOptions,
  ): Promise<void> {
    const signal = options?.signal
    this.#guard('setState', signal)
    const checked = checkStateKey(key, 'postgres')
    if (hasNul(checked)) {
      throw invalid('key', 'a state key cannot hold U+0000 in PostgreSQL text')
    }
    // Canonical JSON escapes U+0000, so the text always fits a text column.
    const text = value === undefined ? undefined : checkStateValue(value, 'postgres')
    const state = this.#names.state
    await this.#write('setState', () =>
      text === undefined
        ? this.pool.query(`DELETE FROM ${state} WHERE key = $1`, [checked])
        : this.pool.query(
            `INSERT INTO ${state} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
            [checked, text],
          ),
    )
  }

  async loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    this.#guard('loadOrCreateEpoch', options?.signal)
    checkCandidate('loadOrCreateEpoch', candidate)
    const meta = this.#names.meta
    const row = await this.#write('loadOrCreateEpoch', async () => {
      // Two statements, each with its own snapshot: when another instance inserted the epoch
      // first, the INSERT waits for it to commit and does nothing, and the SELECT then sees it.
      await this.pool.query(
        `INSERT INTO ${meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
        [EPOCH_KEY, candidate],
      )
      const result = await this.pool.query(`SELECT value FROM ${meta} WHERE key = $1`, [EPOCH_KEY])
      return result.rows[0] as { value: string } | undefined
    })
    if (row === undefined) {
      throw new SyncKitError(
        'internal',
        `${POSTGRES_PREFIX} loadOrCreateEpoch wrote the epoch but could not read it back; was the meta table changed outside sync-kit?`,
        {},
      )
    }
    return row.value
  }

  async renewEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    this.#guard('renewEpoch', options?.signal)
    checkCandidate('renewEpoch', candidate)
    await this.#write('renewEpoch', () =>
      this.pool.query(
        `INSERT INTO ${this.#names.meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [EPOCH_KEY, candidate],
      ),
    )
    return candidate
  }

  async ping(options?: SignalOptions): Promise<void> {
    const signal = options?.signal
    this.#guard('ping', signal)
    await this.#read('ping', signal, () => this.pool.query('SELECT 1'))
  }

  watch(listener: (latest?: string) => void, options?: PostgresWatchOptions): () => Promise<void> {
    this.#guard('watch', undefined)
    if (typeof listener !== 'function') {
      throw invalid('listener', `watch needs a listener function, got ${describe(listener)}`)
    }
    const stopChannel = watchChannel(this.pool, this.#names.channel, listener, options)
    const stop = async (): Promise<void> => {
      this.#watchers.delete(stop)
      await stopChannel()
    }
    this.#watchers.add(stop)
    return stop
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.allSettled([...this.#watchers].map((stop) => stop()))
    await Promise.allSettled([...this.#running])
  }

  async #append(
    what: string,
    events: readonly Event[],
    options: StoreBatchOptions | undefined,
  ): Promise<StoreResult[]> {
    const signal = options?.signal
    this.#guard(what, signal)
    if (!Array.isArray(events)) {
      throw invalid('events', `storeBatch needs an array of events, got ${describe(events)}`)
    }
    // Validate everything before the transaction: a bad event changes nothing.
    const encoded = events.map((event) => encodeEvent(event))
    const checkpoint = checkBatchCheckpoint(options?.checkpoint, 'postgres')
    if (checkpoint !== undefined) checkedCheckpoint(checkpoint.key, checkpoint.value)
    if (encoded.length === 0 && checkpoint === undefined) return []
    const createdAt = this.#now()
    const batch = groupBatch(encoded)
    if (batch.unique.length === 0) {
      // A checkpoint alone: one statement, atomic on its own.
      this.#guard(what, signal)
      await this.#write(what, () =>
        writeCheckpoint(
          this.pool,
          this.#names,
          checkpoint?.key as CheckpointKey,
          checkpoint?.value as Checkpoint,
        ),
      )
      return []
    }
    for (let attempt = 1; ; attempt++) {
      // The last moment to abort: once the statement is sent, the call reports its outcome (the
      // queue still honours the signal while the append waits for its turn).
      this.#guard(what, signal)
      try {
        const outcome = await this.#track(
          this.#appends.submit(batch.unique, createdAt, checkpoint, attempt > 1, signal, what),
        )
        if (outcome.inserted !== undefined) return appendResults(freshPlan(batch), outcome.inserted)
        // Some ids are stored: duplicates (free: no lock, no number, no write) or a conflict.
        const plan = planFromStored(batch, outcome.stored)
        if (plan.fresh.length === 0 && checkpoint === undefined) {
          return appendResults(plan, new Map())
        }
        this.#guard(what, signal)
        return await this.#track(
          writeAppendStatement(this.pool, this.#names, plan, checkpoint, createdAt),
        )
      } catch (error) {
        // Another append stored one of these ids since this one read them: start again.
        if (errorCode(error) === UNIQUE_VIOLATION && attempt < MAX_APPEND_ATTEMPTS) continue
        throw toSyncKitError(error, what)
      }
    }
  }

  async #load(
    what: string,
    aggregateId: string | undefined,
    since: Version | null,
    options: LoadOptions | undefined,
  ): Promise<EventWithVersion[]> {
    const signal = options?.signal
    this.#guard(what, signal)
    const after = SequenceVersion.from(since).value
    const limit = validateLimit(options?.limit, 'postgres')
    // A `type` filter matches deletes too (the delete rule of `Filter`).
    const groups = withoutNul(includeTombstones(groupFilters(options?.filters, 'postgres')))
    // Nothing stored can hold U+0000 in these columns, and PostgreSQL would refuse the value.
    if (groups === null || (aggregateId !== undefined && hasNul(aggregateId))) return []
    // A cursor past the largest seq (a client's garbage Last-Event-ID) has nothing after it.
    if (after >= MAX_SEQ) return []
    const query = buildLoadQuery(this.#names, aggregateId, after.toString(), groups, limit)
    const rows = await this.#read(what, signal, async () => {
      const result = await this.pool.query(query.text, query.values)
      return result.rows as EventRow[]
    })
    return rows.map(rowToEvent)
  }

  /**
   * Runs a write on the pool (the caller checked the signal just before): not abortable once
   * sent, so the call always reports what happened.
   */
  #write<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.#track(
      work().catch((error: unknown) => {
        throw toSyncKitError(error, what)
      }),
    )
  }

  /** Runs a read on the pool: rejects with `aborted` as soon as the signal fires. */
  #read<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const running = work().catch((error: unknown) => {
      throw toSyncKitError(error, what)
    })
    return raceAbort(this.#track(running), signal, what)
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work)
    const forget = (): void => {
      this.#running.delete(work)
    }
    work.then(forget, forget)
    return work
  }

  #now(): string {
    const now = this.#clock.now()
    if (!Number.isFinite(now)) {
      throw invalid(
        'clock',
        `the clock returned ${String(now)}; clock.now() must return milliseconds since the Unix epoch`,
      )
    }
    return new Date(Math.trunc(now)).toISOString()
  }

  #guard(what: string, signal: AbortSignal | undefined): void {
    if (this.#closed) {
      throw new SyncKitError(
        'closed',
        `${POSTGRES_PREFIX} ${what} called after close(); create a new store to keep using the database`,
        {},
      )
    }
    throwIfAborted(signal, `${POSTGRES_PREFIX} ${what}`)
  }
}

function checkedCheckpoint(
  key: unknown,
  value: unknown,
): { readonly key: CheckpointKey; readonly value: Checkpoint } {
  const checked = {
    key: checkCheckpointKey(key, 'postgres'),
    value: checkCheckpointValue(value, 'postgres'),
  }
  const fields: readonly (readonly [string, string | undefined])[] = [
    ['key.remote', checked.key.remote],
    ['value.version', checked.value.version],
    ['value.epoch', checked.value.epoch],
  ]
  for (const [field, text] of fields) {
    if (text !== undefined && hasNul(text)) {
      throw invalid(
        field,
        `a checkpoint ${field} cannot contain U+0000 (PostgreSQL text cannot hold it)`,
      )
    }
  }
  return checked
}

/** Drops filter values holding U+0000 (they match nothing); `null` when a key has none left. */
function withoutNul(groups: FilterGroups | undefined): FilterGroups | undefined | null {
  if (groups === undefined) return undefined
  const out: { type?: string[]; tenant?: string[]; aggregateId?: string[] } = {}
  for (const key of ['type', 'tenant', 'aggregateId'] as const) {
    const values = groups[key]
    if (values === undefined) continue
    const kept = values.filter((v) => !hasNul(v))
    if (kept.length === 0) return null
    out[key] = kept
  }
  return out
}

/** Checks the candidate epoch of `loadOrCreateEpoch` and `renewEpoch`. */
function checkCandidate(what: string, candidate: unknown): void {
  if (typeof candidate !== 'string' || candidate === '' || hasNul(candidate)) {
    throw invalid(
      'candidate',
      `${what} needs a non-empty candidate epoch without U+0000, got ${describe(candidate)}`,
    )
  }
}

function hasNul(text: string): boolean {
  return text.includes('\u0000')
}

function invalid(argument: string, problem: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `${POSTGRES_PREFIX} ${problem}`, { argument })
}
