import {
  checkBatchCheckpoint,
  checkCheckpointKey,
  checkCheckpointValue,
} from '../../core/checkpoint.js'
import { wakeWatchers, watchWithPoll } from '../../core/append-watchers.js'
import type { Watchers } from '../../core/append-watchers.js'
import { validateEvent } from '../../core/event-validation.js'
import { groupFilters, includeTombstones, validateLimit } from '../../core/filters.js'
import { checkStateKey, checkStateValue } from '../../core/state.js'
import { throwIfAborted } from '../../errors/abort.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Checkpoint,
  CheckpointKey,
  Event,
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
import { appendEvents, lastSeq } from './indexeddb-append.js'
import { WriteNotifier } from './indexeddb-broadcast.js'
import { checkIndexedDbOptions } from './indexeddb-options.js'
import type { IndexedDbSettings } from './indexeddb-options.js'
import { openDatabase } from './indexeddb-open.js'
import { loadRecords, toEventWithVersion } from './indexeddb-queries.js'
import type { LoadQuery } from './indexeddb-queries.js'
import { INDEXEDDB_UPGRADES, META_KEYS, STORES } from './indexeddb-schema.js'
import type { IndexedDbUpgrade } from './indexeddb-schema.js'
import { requestResult, runTransaction } from './indexeddb-transaction.js'
import type { IndexedDbStore, OpenIndexedDbStoreOptions } from './indexeddb-types.js'
import { checkReplicaId } from './replica-id.js'

/**
 * Opens a durable event store in an IndexedDB database, creating the database on first use (with
 * a new replica id) or upgrading one written by an older sync-kit. See `docs/stores.md` for the
 * schema, versions and limits.
 *
 * One database per replica: several stores (tabs) may open the same database at once; IndexedDB
 * serialises their write transactions, so versions stay unique and increasing. When another tab
 * upgrades or deletes the database, this store closes itself (see `onClosed`).
 *
 * @param options - the database name and, optionally, the IndexedDB implementation and settings;
 * see {@link OpenIndexedDbStoreOptions}.
 * @returns the store, once the database is open and its replica id known.
 * @throws SyncKitError `invalid-argument` for bad options (or no IndexedDB in this runtime and no
 * `indexedDB` option); `incompatible-database` when the database was written by a newer sync-kit,
 * or is not a sync-kit database; `unavailable` when the browser refuses IndexedDB (private mode,
 * blocked site data) or another tab blocks the upgrade for longer than `blockedTimeoutMs`.
 * @example
 * ```ts
 * import { openIndexedDbStore } from 'sync-kit/indexeddb'
 *
 * const store = await openIndexedDbStore({ name: 'todo-app' })
 * await store.storeBatch([{ id: 'e1', type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } }])
 * const todos = await store.loadByAggregate('todo-1', null)
 * console.log(store.replicaId, todos.length)
 * await store.close()
 * ```
 */
export function openIndexedDbStore(options: OpenIndexedDbStoreOptions): Promise<IndexedDbStore> {
  return openIndexedDbStoreWith(options, INDEXEDDB_UPGRADES)
}

/**
 * {@link openIndexedDbStore} with other schema steps: how tests open a database as a later (or
 * earlier) schema version would. Internal: not exported from `sync-kit/indexeddb`.
 * @param options - as for {@link openIndexedDbStore}.
 * @param upgrades - the schema steps, version 1 first.
 * @returns the store.
 * @throws SyncKitError as {@link openIndexedDbStore}.
 */
export async function openIndexedDbStoreWith(
  options: OpenIndexedDbStoreOptions,
  upgrades: readonly IndexedDbUpgrade[],
): Promise<IndexedDbStore> {
  const settings = checkIndexedDbOptions(options)
  const db = await openDatabase({
    factory: settings.factory,
    name: settings.name,
    upgrades,
    prefix: settings.prefix,
    blockedTimeoutMs: settings.blockedTimeoutMs,
    timers: settings.timers,
  })
  // Until the store takes over: never keep another tab's upgrade waiting.
  db.onversionchange = () => {
    db.close()
  }
  try {
    const replicaId = await loadOrCreateReplicaId(db, settings)
    return new IndexedDbEventStore(db, settings, replicaId)
  } catch (error) {
    db.close()
    throw error
  }
}

class IndexedDbEventStore implements IndexedDbStore {
  readonly name: string
  readonly replicaId: string
  readonly #db: IDBDatabase
  readonly #settings: IndexedDbSettings
  readonly #notifier: WriteNotifier
  readonly #watchers: Watchers = new Set()
  /** Whether the notifier listens to other tabs' notifications (from the first `watch` on). */
  #listening = false
  /** Set once closed: by `close()` (`undefined` reason) or by the browser or another tab. */
  #closed: { readonly reason: string | undefined } | undefined

  constructor(db: IDBDatabase, settings: IndexedDbSettings, replicaId: string) {
    this.name = settings.name
    this.replicaId = replicaId
    this.#db = db
    this.#settings = settings
    this.#notifier = new WriteNotifier(settings.name, settings.broadcast)
    db.onversionchange = (event) => {
      this.#closeBy(
        event.newVersion === null
          ? 'another tab (or window or worker) of this site is deleting the database'
          : `another tab (or window or worker) of this site is upgrading the database to version ${event.newVersion}`,
      )
    }
    db.onclose = () => {
      this.#closeBy(
        'the browser closed the database (site data cleared, or the storage backend failed)',
      )
    }
  }

  async store(event: Event, options?: SignalOptions): Promise<StoreResult> {
    const results = await this.#write('store', [event], undefined, options?.signal)
    return results[0] as StoreResult
  }

  storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]> {
    return this.#write('storeBatch', events, options?.checkpoint, options?.signal)
  }

  async load(since: Version | null, options?: LoadOptions): Promise<EventWithVersion[]> {
    return this.#load('load', undefined, since, options)
  }

  async loadByAggregate(
    aggregateId: string,
    since: Version | null,
    options?: LoadOptions,
  ): Promise<EventWithVersion[]> {
    this.#enter('loadByAggregate', options?.signal)
    if (typeof aggregateId !== 'string' || aggregateId === '') {
      throw new SyncKitError(
        'invalid-argument',
        `${this.#settings.prefix} loadByAggregate needs a non-empty aggregate id, got ${typeof aggregateId === 'string' ? 'an empty string' : typeof aggregateId}`,
        { argument: 'aggregateId' },
      )
    }
    return this.#load('loadByAggregate', aggregateId, since, options)
  }

  async latestVersion(options?: SignalOptions): Promise<Version> {
    const signal = options?.signal
    this.#enter('latestVersion', signal)
    const seq = await this.#run('latestVersion', [STORES.events], 'readonly', signal, (tx) =>
      lastSeq(tx.objectStore(STORES.events)),
    )
    return seq === 0 ? SequenceVersion.ZERO : new SequenceVersion(seq)
  }

  /** Pure parsing: works after `close()` too. */
  parseVersion(value: string): Version {
    return SequenceVersion.parse(value)
  }

  async getCheckpoint(
    key: CheckpointKey,
    options?: SignalOptions,
  ): Promise<Checkpoint | undefined> {
    const signal = options?.signal
    this.#enter('getCheckpoint', signal)
    const checked = checkCheckpointKey(key, this.#settings.component)
    return this.#run('getCheckpoint', [STORES.checkpoints], 'readonly', signal, (tx) =>
      requestResult<Checkpoint | undefined>(
        tx.objectStore(STORES.checkpoints).get(checkpointKey(checked)),
      ),
    )
  }

  async setCheckpoint(
    key: CheckpointKey,
    value: Checkpoint,
    options?: SignalOptions,
  ): Promise<void> {
    const signal = options?.signal
    this.#enter('setCheckpoint', signal)
    const { component } = this.#settings
    const checkedKey = checkCheckpointKey(key, component)
    const checkedValue = checkCheckpointValue(value, component)
    await this.#run('setCheckpoint', [STORES.checkpoints], 'readwrite', signal, (tx) => {
      tx.objectStore(STORES.checkpoints).put(checkedValue, checkpointKey(checkedKey))
    })
  }

  async getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined> {
    const signal = options?.signal
    this.#enter('getState', signal)
    const checked = checkStateKey(key, this.#settings.component)
    const text = await this.#run('getState', [STORES.state], 'readonly', signal, (tx) =>
      requestResult<unknown>(tx.objectStore(STORES.state).get(checked)),
    )
    return typeof text === 'string' ? (JSON.parse(text) as JsonValue) : undefined
  }

  async setState(
    key: string,
    value: JsonValue | undefined,
    options?: SignalOptions,
  ): Promise<void> {
    const signal = options?.signal
    this.#enter('setState', signal)
    const { component } = this.#settings
    const checked = checkStateKey(key, component)
    const text = value === undefined ? undefined : checkStateValue(value, component)
    await this.#run('setState', [STORES.state], 'readwrite', signal, (tx) => {
      const state = tx.objectStore(STORES.state)
      if (text === undefined) state.delete(checked)
      else state.put(text, checked)
    })
  }

  async loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    const signal = options?.signal
    this.#enter('loadOrCreateEpoch', signal)
    this.#checkCandidate('loadOrCreateEpoch', candidate)
    return this.#run('loadOrCreateEpoch', [STORES.meta], 'readwrite', signal, async (tx) => {
      const meta = tx.objectStore(STORES.meta)
      const stored = await requestResult<unknown>(meta.get(META_KEYS.epoch))
      if (typeof stored === 'string' && stored !== '') return stored
      meta.put(candidate, META_KEYS.epoch)
      return candidate
    })
  }

  async renewEpoch(candidate: string, options?: SignalOptions): Promise<string> {
    const signal = options?.signal
    this.#enter('renewEpoch', signal)
    this.#checkCandidate('renewEpoch', candidate)
    await this.#run('renewEpoch', [STORES.meta], 'readwrite', signal, (tx) => {
      tx.objectStore(STORES.meta).put(candidate, META_KEYS.epoch)
    })
    return candidate
  }

  #checkCandidate(what: string, candidate: unknown): void {
    if (typeof candidate !== 'string' || candidate === '') {
      throw new SyncKitError(
        'invalid-argument',
        `${this.#settings.prefix} ${what} needs a non-empty candidate epoch, got ${typeof candidate === 'string' ? 'an empty string' : typeof candidate}`,
        { argument: 'candidate' },
      )
    }
  }

  watch(listener: (latest?: string) => void, options?: StoreWatchOptions): () => Promise<void> {
    this.#enter('watch', undefined)
    const stop = watchWithPoll(this.#watchers, listener, options, this.#settings.component)
    if (!this.#listening) {
      this.#listening = true
      this.#notifier.listen((latest) => wakeWatchers(this.#watchers, latest))
    }
    return stop
  }

  async close(): Promise<void> {
    if (this.#closed !== undefined) return
    this.#closed = { reason: undefined }
    // Transactions under way still commit; the connection closes once they have.
    this.#db.close()
    this.#notifier.close()
    this.#watchers.clear()
  }

  /** Another tab or the browser closed the database under the store. */
  #closeBy(reason: string): void {
    if (this.#closed !== undefined) return
    this.#closed = { reason }
    this.#db.close()
    this.#notifier.close()
    this.#watchers.clear()
    try {
      this.#settings.onClosed?.(this.#closedError('the store'))
    } catch {
      // A throwing callback must not keep the other tab's upgrade waiting.
    }
  }

  #closedError(what: string): SyncKitError<'closed'> {
    const reason = this.#closed?.reason
    return new SyncKitError(
      'closed',
      reason === undefined
        ? `${this.#settings.prefix} ${what} was called after close(); open a new store`
        : `${this.#settings.prefix} ${what} is closed: ${reason}, so this store closed its connection to let it; reload the page or open the store again`,
      {},
    )
  }

  /** Every async call starts here: closed first, then the caller's signal. */
  #enter(what: string, signal: AbortSignal | undefined): void {
    if (this.#closed !== undefined) throw this.#closedError(what)
    throwIfAborted(signal, `${this.#settings.prefix} ${what}`)
  }

  #run<T>(
    what: string,
    stores: readonly string[],
    mode: IDBTransactionMode,
    signal: AbortSignal | undefined,
    body: (tx: IDBTransaction) => Promise<T> | T,
  ): Promise<T> {
    const { prefix, durability } = this.#settings
    return runTransaction(this.#db, stores, mode, { prefix, what, durability, signal }, body)
  }

  async #load(
    what: string,
    aggregateId: string | undefined,
    since: Version | null,
    options: LoadOptions | undefined,
  ): Promise<EventWithVersion[]> {
    const signal = options?.signal
    this.#enter(what, signal)
    const { component } = this.#settings
    const after = SequenceVersion.from(since).toSafeNumber()
    const limit = validateLimit(options?.limit, component)
    // A `type` filter matches deletes too (the delete rule of `Filter`).
    const groups = includeTombstones(groupFilters(options?.filters, component))
    // Past 2^53 − 1 the cursor is beyond any key this store can hold.
    if (after === undefined) return []
    const query: LoadQuery = { after, limit, aggregateId, groups }
    const records = await this.#run(what, [STORES.events], 'readonly', signal, (tx) =>
      loadRecords(tx, this.#settings.ranges, query),
    )
    return records.map(toEventWithVersion)
  }

  async #write(
    what: string,
    events: readonly Event[],
    checkpointOption: StoreBatchOptions['checkpoint'] | undefined,
    signal: AbortSignal | undefined,
  ): Promise<StoreResult[]> {
    this.#enter(what, signal)
    const { prefix, component } = this.#settings
    if (!Array.isArray(events)) {
      throw new SyncKitError(
        'invalid-argument',
        `${prefix} storeBatch takes an array of events, got ${events === null ? 'null' : typeof events}`,
        { argument: 'events' },
      )
    }
    // Validate everything before the transaction: a bad event anywhere stores nothing.
    const valid = events.map((event) => validateEvent(event, component))
    const checkpoint = checkBatchCheckpoint(checkpointOption, component)
    if (valid.length === 0 && checkpoint === undefined) return []
    const stores = checkpoint === undefined ? [STORES.events] : [STORES.events, STORES.checkpoints]
    const results = await this.#run(what, stores, 'readwrite', signal, async (tx) => {
      const results = await appendEvents(tx.objectStore(STORES.events), valid, prefix)
      if (checkpoint !== undefined) {
        tx.objectStore(STORES.checkpoints).put(checkpoint.value, checkpointKey(checkpoint.key))
      }
      return results
    })
    this.#notify(valid, results)
    return results
  }

  /** Tells this tab's watchers and other tabs what a committed write stored (nothing for duplicates alone). */
  #notify(events: readonly Event[], results: readonly StoreResult[]): void {
    const aggregateIds = new Set<string>()
    let count = 0
    let latest: Version | undefined
    results.forEach((result, i) => {
      if (result.duplicate) return
      count++
      latest = result.version
      aggregateIds.add((events[i] as Event).aggregateId)
    })
    if (latest === undefined) return
    wakeWatchers(this.#watchers, latest.toString())
    this.#notifier.post({
      type: 'stored',
      name: this.name,
      replicaId: this.replicaId,
      latest: latest.toString(),
      count,
      aggregateIds: [...aggregateIds],
    })
  }
}

/** The key of a checkpoint in the `checkpoints` store. */
function checkpointKey(key: CheckpointKey): [string, string] {
  return [key.remote, key.direction]
}

/** Reads the replica id of the database, or keeps a new one, in one transaction. */
function loadOrCreateReplicaId(db: IDBDatabase, settings: IndexedDbSettings): Promise<string> {
  const { prefix, durability } = settings
  return runTransaction(
    db,
    [STORES.meta],
    'readwrite',
    { prefix, what: 'opening the store', durability },
    async (tx) => {
      const meta = tx.objectStore(STORES.meta)
      const stored = await requestResult<unknown>(meta.get(META_KEYS.replicaId))
      if (stored !== undefined) return checkReplicaId(stored, prefix, 'stored')
      const id = checkReplicaId(settings.generateReplicaId(), prefix, 'generated')
      meta.put(id, META_KEYS.replicaId)
      return id
    },
  )
}
