import {
  checkBatchCheckpoint,
  checkCheckpointKey,
  checkCheckpointValue,
} from '../../core/checkpoint.js'
import { addWatcher, wakeWatchers } from '../../core/append-watchers.js'
import type { Watchers } from '../../core/append-watchers.js'
import { SERVER_EPOCH_CHECKPOINT_KEY, checkEpoch } from '../../core/epoch.js'
import { eventsEqual, validateEvent } from '../../core/event-validation.js'
import { checkStateKey, checkStateValue } from '../../core/state.js'
import type { ValidateEventOptions } from '../../core/event-validation.js'
import { compileFilterGroups, groupFilters, validateLimit } from '../../core/filters.js'
import { describe } from '../../core/json-value.js'
import type { FilterGroups } from '../../core/filters.js'
import { throwIfAborted } from '../../errors/abort.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Checkpoint,
  CheckpointKey,
  Event,
  EventStore,
  EventWithVersion,
  JsonValue,
  LoadOptions,
  SignalOptions,
  StoreBatchOptions,
  StoreResult,
  StoreWatchOptions,
  Version,
} from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'

/** Options for {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Names the store in error messages (`[sync-kit] [memory:<name>] …`), handy when a test or an
   * app holds several.
   * @defaultValue none: messages say `[memory]`
   */
  readonly name?: string
}

/**
 * An {@link EventStore} held in memory: always has `storeBatch`, and reports its `size`.
 *
 * Versions are {@link SequenceVersion}s: 1 for the first event stored, 2 for the second, and so
 * on; the zero version while empty.
 *
 * @example
 * ```ts
 * import { createMemoryStore, type MemoryStore } from 'sync-kit'
 *
 * const store: MemoryStore = createMemoryStore({ name: 'replica-a' })
 * await store.storeBatch(events, { checkpoint: { key: { remote: 'hub', direction: 'pull' }, value: { version: '42' } } })
 * store.size // events.length, duplicates counted once
 * ```
 */
export interface MemoryStore extends EventStore {
  /**
   * Persists a batch atomically (all or nothing), in order, with an optional checkpoint set in
   * the same step. Duplicates (also within the batch) report `duplicate: true` and the version
   * of the copy already stored.
   * @param events - the events, in the order to store them.
   * @param options - cancellation and an optional checkpoint.
   * @returns one result per input event, at the same index.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `invalid-argument` (a malformed
   * checkpoint or a non-array), `closed`, `aborted`; nothing is stored then.
   */
  storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]>
  /**
   * The epoch of this log for a server (see `EventStore.loadOrCreateEpoch`): the stored one, or
   * `candidate`, kept on first use. Kept as the checkpoint `{ remote: 'sync-kit:server',
   * direction: 'pull' }`, so it is gone with the store.
   * @param candidate - the epoch to keep when the store has none; a non-empty string.
   * @param options - cancellation.
   * @returns the store's epoch.
   * @throws SyncKitError `invalid-argument` (empty candidate), `closed`, `aborted`.
   */
  loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Gives the log a new epoch (see `EventStore.renewEpoch`).
   * @param candidate - the new epoch; a non-empty string.
   * @param options - cancellation.
   * @returns `candidate`.
   * @throws SyncKitError `invalid-argument`, `closed`, `aborted`.
   */
  renewEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Calls `listener` after every append through this store that stored new events (see
   * `EventStore.watch`), synchronously, once the append is complete, with the newest version.
   * Nothing but this object writes to a memory store, so no wake-up is ever missed and it never
   * polls: the watch options are not used. `watchChanges` reads the changes themselves.
   * @param listener - the wake-up; what it throws is ignored.
   * @param options - not used (the contract's poll and backoff serve stores others write to).
   * @returns stops watching (resolves at once); `close()` stops every watcher.
   * @throws SyncKitError `invalid-argument` (a listener that is not a function), `closed`.
   */
  watch(listener: (latest?: string) => void, options?: StoreWatchOptions): () => Promise<void>
  /** Number of events stored (0 after `close()`). */
  readonly size: number
}

const FREEZE: ValidateEventOptions = { freeze: true }
const NO_EVENTS: readonly number[] = []
/** The map key of the server epoch's checkpoint. */
const EPOCH_KEY = /* @__PURE__ */ checkpointMapKey(SERVER_EPOCH_CHECKPOINT_KEY)

/**
 * Creates an in-memory event store: fast, dependency-free, for tests, demos, browsers and as the
 * log behind the loopback hub. Nothing survives the process.
 *
 * How it works: the log is an array of `{ event, version }` records, and an event's version is
 * its position plus one, so finding where to start after `since` is O(1). Events are validated,
 * deep-copied and frozen once on the way in, and each gets one frozen record with its version
 * (the very version its append reported), so records are handed out as they are and nobody can
 * change them to corrupt the store: a load without filters is a slice of the log. Loads of one or
 * more aggregates walk those aggregates' lists of positions (binary search for the start); other
 * filters are checked event by event from `since` on, which stops at `limit` (an index per type
 * and tenant would make every append pay for them).
 *
 * @param options - see {@link MemoryStoreOptions}.
 * @returns the store.
 * @example
 * ```ts
 * import { createMemoryStore } from 'sync-kit'
 *
 * const store = createMemoryStore()
 * await store.store({ id: 'e1', type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
 * const events = await store.load(null, { filters: [{ key: 'type', value: 'TodoAdded' }] })
 * events[0]?.version.toString() // '1'
 * ```
 */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryStore {
  const name = options?.name
  if (name !== undefined && typeof name !== 'string') {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [memory] name must be a string, got ${describe(name)}`,
      { argument: 'name' },
    )
  }
  return new InMemoryEventStore(name === undefined || name === '' ? 'memory' : `memory:${name}`)
}

class InMemoryEventStore implements MemoryStore {
  readonly #component: string
  /** Position i holds the frozen record of the (deep-frozen) event with version i + 1. */
  #log: EventWithVersion[] = []
  /** Event id → position. */
  readonly #byId = new Map<string, number>()
  /** Aggregate id → ascending positions. */
  readonly #byAggregate = new Map<string, number[]>()
  /** `direction` + NUL + `remote` → frozen checkpoint. */
  readonly #checkpoints = new Map<string, Checkpoint>()
  /** `setState` key → frozen copy of the value. */
  readonly #state = new Map<string, JsonValue>()
  readonly #watchers: Watchers = new Set()
  #closed = false

  constructor(component: string) {
    this.#component = component
  }

  get size(): number {
    return this.#log.length
  }

  async store(event: Event, options?: SignalOptions): Promise<StoreResult> {
    this.#enter(options, 'store')
    return this.#put([validateEvent(event, this.#component, FREEZE)])[0] as StoreResult
  }

  async storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]> {
    this.#enter(options, 'storeBatch')
    if (!Array.isArray(events)) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${this.#component}] storeBatch takes an array of events, got ${describe(events)}`,
        { argument: 'events' },
      )
    }
    // Validate everything before changing anything: a bad event or checkpoint stores nothing.
    const checkpoint = checkBatchCheckpoint(options?.checkpoint, this.#component)
    // Array.from reads holes as `undefined`, which is not an event.
    return this.#put(
      Array.from(events, (event) => validateEvent(event, this.#component, FREEZE)),
      checkpoint,
    )
  }

  /**
   * Appends validated copies (all or, on an id conflict, none), then writes the checkpoint and
   * wakes the watchers: the body of `storeBatch`.
   */
  #put(copies: Event[], checkpoint?: ReturnType<typeof checkBatchCheckpoint>): StoreResult[] {
    const start = this.#log.length
    let results: StoreResult[]
    try {
      // An earlier event of this batch is already appended, so in-batch duplicates are found.
      results = copies.map((copy) => this.#add(copy))
    } catch (error) {
      // Only an id conflict can get here; undo this batch's appends so it stores nothing.
      this.#truncate(start)
      throw error
    }
    if (checkpoint !== undefined) {
      this.#checkpoints.set(checkpointMapKey(checkpoint.key), Object.freeze(checkpoint.value))
    }
    // No wake-up text is made while nobody watches.
    const length = this.#log.length
    if (length > start && this.#watchers.size > 0) wakeWatchers(this.#watchers, String(length))
    return results
  }

  async load(since: Version | null, options?: LoadOptions): Promise<EventWithVersion[]> {
    this.#enter(options, 'load')
    const groups = groupFilters(options?.filters, this.#component)
    // With an aggregate filter, walk those aggregates' positions; else the log from `since`.
    const ids = groups?.aggregateId
    const positions =
      ids === undefined
        ? undefined
        : ids.length === 1
          ? (this.#byAggregate.get(ids[0] as string) ?? NO_EVENTS)
          : ids.flatMap((id) => this.#byAggregate.get(id) ?? []).sort((a, b) => a - b)
    return this.#collect(since, options, positions, groups)
  }

  async loadByAggregate(
    aggregateId: string,
    since: Version | null,
    options?: LoadOptions,
  ): Promise<EventWithVersion[]> {
    this.#enter(options, 'loadByAggregate')
    if (typeof aggregateId !== 'string' || aggregateId === '') {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${this.#component}] loadByAggregate needs a non-empty aggregate id, got ${describe(aggregateId)}`,
        { argument: 'aggregateId' },
      )
    }
    const groups = groupFilters(options?.filters, this.#component)
    return this.#collect(since, options, this.#byAggregate.get(aggregateId) ?? NO_EVENTS, groups)
  }

  async latestVersion(options?: SignalOptions): Promise<Version> {
    this.#enter(options, 'latestVersion')
    return this.#log.at(-1)?.version ?? SequenceVersion.ZERO
  }

  /** Pure parsing: works after `close()` too. */
  parseVersion(value: string): Version {
    return SequenceVersion.parse(value)
  }

  async getCheckpoint(
    key: CheckpointKey,
    options?: SignalOptions,
  ): Promise<Checkpoint | undefined> {
    this.#enter(options, 'getCheckpoint')
    return this.#checkpoints.get(checkpointMapKey(checkCheckpointKey(key, this.#component)))
  }

  async setCheckpoint(
    key: CheckpointKey,
    value: Checkpoint,
    options?: SignalOptions,
  ): Promise<void> {
    this.#enter(options, 'setCheckpoint')
    const mapKey = checkpointMapKey(checkCheckpointKey(key, this.#component))
    this.#checkpoints.set(mapKey, Object.freeze(checkCheckpointValue(value, this.#component)))
  }

  async getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined> {
    this.#enter(options, 'getState')
    return this.#state.get(checkStateKey(key, this.#component))
  }

  async setState(
    key: string,
    value: JsonValue | undefined,
    options?: SignalOptions,
  ): Promise<void> {
    this.#enter(options, 'setState')
    const checked = checkStateKey(key, this.#component)
    if (value === undefined) {
      this.#state.delete(checked)
      return
    }
    const text = checkStateValue(value, this.#component)
    // Parsed from the checked canonical text, each value frozen as it is made: a deep-frozen copy.
    this.#state.set(
      checked,
      JSON.parse(text, (_key, item: unknown) => Object.freeze(item)) as JsonValue,
    )
  }

  async loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    this.#enter(options, 'loadOrCreateEpoch')
    const epoch = checkEpoch(candidate, this.#component)
    // Synchronous from here on: nothing can interleave between the read and the write.
    const kept = this.#checkpoints.get(EPOCH_KEY)?.epoch
    if (kept !== undefined && kept !== '') return kept
    return this.renewEpoch(epoch, options)
  }

  async renewEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    this.#enter(options, 'renewEpoch')
    const epoch = checkEpoch(candidate, this.#component)
    this.#checkpoints.set(EPOCH_KEY, Object.freeze({ version: '0', epoch }))
    return epoch
  }

  watch(listener: (latest?: string) => void): () => Promise<void> {
    this.#enter(undefined, 'watch')
    return addWatcher(this.#watchers, listener, this.#component)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Let the memory go: nothing can be read after close anyway.
    this.#log = []
    for (const map of [
      this.#watchers,
      this.#byId,
      this.#byAggregate,
      this.#checkpoints,
      this.#state,
    ]) {
      map.clear()
    }
  }

  /** Every async call starts here: closed first, then the caller's signal. */
  #enter(options: SignalOptions | undefined, call: string): void {
    if (this.#closed) {
      throw new SyncKitError(
        'closed',
        `[sync-kit] [${this.#component}] ${call} was called after close(); create a new store`,
        {},
      )
    }
    throwIfAborted(options?.signal, `[sync-kit] [${this.#component}] ${call}`)
  }

  /**
   * The events after `since` (at most `limit`, matching the filters), from `positions` (ascending)
   * or, without them, from the whole log.
   */
  #collect(
    since: Version | null,
    options: LoadOptions | undefined,
    positions: readonly number[] | undefined,
    groups: FilterGroups | undefined,
  ): EventWithVersion[] {
    const limit = validateLimit(options?.limit, this.#component) ?? Infinity
    const log = this.#log
    // Past 2^53 − 1 the cursor is beyond any log this store can hold.
    const start = SequenceVersion.from(since).toSafeNumber() ?? log.length
    // The records are frozen: without filters a page is a slice of the log.
    if (positions === undefined && groups === undefined) return log.slice(start, start + limit)
    // A `type` filter matches deletes too (the delete rule of `Filter`). Without filters the
    // records are not read, only their slots: no cache miss per record of an aggregate.
    const match = groups && compileFilterGroups(groups)
    const out: EventWithVersion[] = []
    const end = positions === undefined ? log.length : positions.length
    let i = positions === undefined ? start : lowerBound(positions, start)
    for (; i < end && out.length < limit; i++) {
      const record = log[positions === undefined ? i : (positions[i] as number)] as EventWithVersion
      if (!match || match(record.event)) out.push(record)
    }
    return out
  }

  /** Appends a validated copy, or reports the duplicate of a stored event. */
  #add(event: Event): StoreResult {
    const existing = this.#byId.get(event.id)
    if (existing !== undefined) return this.#duplicate(existing, event)
    const position = this.#log.length
    const version = new SequenceVersion(position + 1)
    this.#log.push(Object.freeze({ event, version }))
    this.#byId.set(event.id, position)
    const positions = this.#byAggregate.get(event.aggregateId)
    if (positions === undefined) this.#byAggregate.set(event.aggregateId, [position])
    else positions.push(position)
    return { version, duplicate: false }
  }

  #duplicate(position: number, event: Event): StoreResult {
    // The id index holds positions of the log only: #append and #truncate keep both in step.
    const stored = this.#log[position] as EventWithVersion
    if (!eventsEqual(stored.event, event)) {
      throw new SyncKitError(
        'event-id-conflict',
        `[sync-kit] [${this.#component}] event "${event.id.slice(0, 64)}" already exists with different content (version ${position + 1}); events are immutable: use a new id`,
        { eventId: event.id },
      )
    }
    return { version: stored.version, duplicate: true }
  }

  /** Removes every event at `length` and after, with their index entries (newest first). */
  #truncate(length: number): void {
    const log = this.#log
    for (let position = log.length - 1; position >= length; position--) {
      const { event } = log[position] as EventWithVersion
      this.#byId.delete(event.id)
      const positions = this.#byAggregate.get(event.aggregateId) as number[]
      positions.pop()
      if (positions.length === 0) this.#byAggregate.delete(event.aggregateId)
    }
    log.length = length
  }
}

/** First index in the ascending `positions` whose value is ≥ `start` (binary search). */
function lowerBound(positions: readonly number[], start: number): number {
  let low = 0
  let high = positions.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((positions[mid] as number) < start) low = mid + 1
    else high = mid
  }
  return low
}

/** The map key of a checked checkpoint key. */
function checkpointMapKey(key: CheckpointKey): string {
  return `${key.direction}\u0000${key.remote}`
}
