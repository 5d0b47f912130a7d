import type { SyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Event,
  EventStore,
  IdGenerator,
  JsonValue,
  SignalOptions,
  StoreBatchOptions,
  StoreResult,
  StoreWatchOptions,
  Timers,
} from '../../types/index.js'

/**
 * The part of the browser's `IDBFactory` (`window.indexedDB`) the store uses, typed structurally so
 * that these declarations need no DOM library: the browser's `indexedDB`, and `IDBFactory` of
 * `fake-indexeddb` in Node, both fit.
 *
 * @example
 * ```ts
 * import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
 * import { openIndexedDbStore, type IndexedDbFactory } from 'sync-kit/indexeddb'
 *
 * const indexedDB: IndexedDbFactory = new IDBFactory() // in Node; a browser has globalThis.indexedDB
 * const store = await openIndexedDbStore({ name: 'test', indexedDB, IDBKeyRange })
 * ```
 */
export interface IndexedDbFactory {
  /**
   * Opens a database (`IDBFactory.open`).
   * @param name - the database name.
   * @param version - the version to open or upgrade to; the current one when absent.
   */
  open(name: string, version?: number): object
  /**
   * Deletes a database (`IDBFactory.deleteDatabase`).
   * @param name - the database name.
   */
  deleteDatabase(name: string): object
}

/**
 * The static side of `IDBKeyRange` the store uses, typed structurally (see
 * {@link IndexedDbFactory}). It must come from the same IndexedDB implementation as the factory.
 *
 * @example
 * ```ts
 * import { IDBKeyRange } from 'fake-indexeddb'
 * import type { IndexedDbKeyRangeClass } from 'sync-kit/indexeddb'
 *
 * const ranges: IndexedDbKeyRangeClass = IDBKeyRange
 * ```
 */
export interface IndexedDbKeyRangeClass {
  /**
   * A range between two keys (`IDBKeyRange.bound`).
   * @param lower - the lower key.
   * @param upper - the upper key.
   * @param lowerOpen - whether `lower` itself is left out.
   * @param upperOpen - whether `upper` itself is left out.
   */
  bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): object
  /**
   * A range above a key (`IDBKeyRange.lowerBound`).
   * @param lower - the lower key.
   * @param open - whether `lower` itself is left out.
   */
  lowerBound(lower: unknown, open?: boolean): object
}

/**
 * How hard a write transaction asks the browser to keep what it wrote (IndexedDB's transaction
 * `durability`): `'strict'` resolves once the data is flushed to disk, so an acknowledged write
 * survives a browser or system crash; `'relaxed'` resolves once the browser has the data, which is
 * faster but may lose the latest writes on a crash (never part of a transaction).
 *
 * @example
 * ```ts
 * import { openIndexedDbStore, type IndexedDbDurability } from 'sync-kit/indexeddb'
 *
 * const durability: IndexedDbDurability = 'relaxed' // a cache the server can send again
 * const store = await openIndexedDbStore({ name: 'cache', durability })
 * ```
 */
export type IndexedDbDurability = 'strict' | 'relaxed'

/**
 * Options for {@link openIndexedDbStore}.
 *
 * @example
 * ```ts
 * import { openIndexedDbStore, type OpenIndexedDbStoreOptions } from 'sync-kit/indexeddb'
 *
 * const options: OpenIndexedDbStoreOptions = {
 *   name: 'todo-app',
 *   onClosed: (error) => showBanner(`${error.message}`), // another tab upgraded: reload
 * }
 * const store = await openIndexedDbStore(options)
 * ```
 */
export interface OpenIndexedDbStoreOptions {
  /**
   * The IndexedDB database name, one per replica, e.g. `'my-app-sync'`. The store owns the whole
   * database: keep your app's own object stores in another database.
   */
  readonly name: string
  /**
   * The IndexedDB implementation.
   * @defaultValue `globalThis.indexedDB` (the browser's, a worker's, or `fake-indexeddb/auto`'s)
   */
  readonly indexedDB?: IndexedDbFactory
  /**
   * The `IDBKeyRange` class of the same implementation as `indexedDB`.
   * @defaultValue `globalThis.IDBKeyRange`
   */
  readonly IDBKeyRange?: IndexedDbKeyRangeClass
  /**
   * Durability of write transactions; see {@link IndexedDbDurability}.
   * @defaultValue `'strict'`: an offline-first app keeps the user's own edits here, often before any
   * server has them, so an acknowledged write must survive a crash
   */
  readonly durability?: IndexedDbDurability
  /**
   * Makes the replica id of a new database (see {@link IndexedDbStore.replicaId}); must return
   * 1–64 characters of `A-Z a-z 0-9 . _ ~ -`. Inject one in tests.
   * @defaultValue `crypto.randomUUID()` (or a random UUID from `crypto.getRandomValues` where
   * `randomUUID` is missing, as on pages served over plain HTTP)
   */
  readonly generateReplicaId?: IdGenerator
  /**
   * How long opening waits, in milliseconds, while another tab keeps the database open at an
   * older schema version and does not close it (`blocked`), before it rejects with `unavailable`.
   * @defaultValue 5000 ms
   */
  readonly blockedTimeoutMs?: number
  /**
   * Timers for `blockedTimeoutMs`, e.g. a `TestClock`.
   * @defaultValue the global `setTimeout`/`clearTimeout`
   */
  readonly timers?: Timers
  /**
   * Called once when the store closes by itself: another tab upgrades or deletes the database
   * (`versionchange`), or the browser closed it (site data cleared, storage lost). Every later
   * call rejects with the same `closed` error. Not called for {@link EventStore.close}.
   * @defaultValue none
   */
  readonly onClosed?: (error: SyncKitError<'closed'>) => void
  /**
   * Whether to post an {@link IndexedDbStoredMessage} on the `BroadcastChannel` named by
   * {@link indexedDbChannelName} after each write that stored new events, so that other tabs of
   * the app can learn of them.
   * @defaultValue true where `BroadcastChannel` exists
   */
  readonly broadcast?: boolean
}

/**
 * What the store posts on its `BroadcastChannel` (see {@link indexedDbChannelName}) once a write
 * that stored new events has committed. Duplicates alone post nothing.
 *
 * @example
 * ```ts
 * import { indexedDbChannelName, type IndexedDbStoredMessage } from 'sync-kit/indexeddb'
 *
 * new BroadcastChannel(indexedDbChannelName('todo-app')).onmessage = ({ data }: MessageEvent<IndexedDbStoredMessage>) => {
 *   if (data.aggregateIds.includes(openTodoId)) void refresh()
 * }
 * ```
 */
export interface IndexedDbStoredMessage {
  /** Always `'stored'`. */
  readonly type: 'stored'
  /** The database name. */
  readonly name: string
  /** The replica id of the database. */
  readonly replicaId: string
  /** The version of the newest event the write stored (`Version.toString()`). */
  readonly latest: string
  /** How many new events the write stored. */
  readonly count: number
  /** The aggregate ids of the new events, each once, in the order first stored. */
  readonly aggregateIds: readonly string[]
}

/**
 * A durable {@link EventStore} on the browser's IndexedDB, with every optional capability: atomic
 * `storeBatch` (with its checkpoint in the same transaction), `getState`/`setState` and
 * `loadOrCreateEpoch`, plus the database's persistent {@link IndexedDbStore.replicaId}.
 *
 * Versions are `SequenceVersion`s: 1 for the first event stored, 2 for the second, and so on.
 *
 * @example
 * ```ts
 * import { openIndexedDbStore, type IndexedDbStore } from 'sync-kit/indexeddb'
 *
 * const store: IndexedDbStore = await openIndexedDbStore({ name: 'my-app-sync' })
 * store.replicaId // the same after every reload, until the database is deleted
 * ```
 */
export interface IndexedDbStore extends EventStore {
  /** The database name. */
  readonly name: string
  /**
   * The replica id of this database: created on first open, kept in the database, new when the
   * database was deleted. Valid as a `SyncManager` `nodeId` (1–64 characters of
   * `A-Z a-z 0-9 . _ ~ -`).
   */
  readonly replicaId: string
  /**
   * Persists a batch atomically in one IndexedDB transaction, in order, with an optional
   * checkpoint in the same transaction. Duplicates (also within the batch) report
   * `duplicate: true` and the stored version, and use up no version.
   * @param events - the events, in the order to store them.
   * @param options - cancellation and an optional checkpoint.
   * @returns one result per input event, at the same index.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `invalid-argument` (a malformed
   * checkpoint or a non-array), `unavailable` (quota used up, transaction aborted by the browser),
   * `closed`, `aborted`; nothing is stored then.
   */
  storeBatch(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]>
  /**
   * Reads a small durable value kept beside the log.
   * @param key - 1–256 characters; keys starting `sync-kit:` belong to sync-kit.
   * @param options - cancellation.
   * @returns a fresh copy of the value, or `undefined` when none is set.
   * @throws SyncKitError `invalid-argument`, `closed`, `aborted`.
   */
  getState(key: string, options?: SignalOptions): Promise<JsonValue | undefined>
  /**
   * Writes (or, with `undefined`, deletes) a small durable value beside the log.
   * @param key - 1–256 characters; keys starting `sync-kit:` belong to sync-kit.
   * @param value - a JSON value, or `undefined` to delete.
   * @param options - cancellation.
   * @throws SyncKitError `invalid-argument`, `unavailable`, `closed`, `aborted`.
   */
  setState(key: string, value: JsonValue | undefined, options?: SignalOptions): Promise<void>
  /**
   * Returns the epoch kept in the database, or keeps `candidate` and returns it when there is
   * none, in one transaction.
   * @param candidate - a fresh epoch; non-empty.
   * @param options - cancellation.
   * @returns the database's epoch.
   * @throws SyncKitError `invalid-argument`, `unavailable`, `closed`, `aborted`.
   */
  loadOrCreateEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Gives the log a new epoch (see `EventStore.renewEpoch`), replacing the one kept in the
   * database, in one transaction.
   * @param candidate - the new epoch; non-empty.
   * @param options - cancellation.
   * @returns `candidate`, the database's epoch from now on.
   * @throws SyncKitError `invalid-argument`, `unavailable`, `closed`, `aborted`.
   */
  renewEpoch(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Calls `listener` when the log grew (see `EventStore.watch`): after each write through this
   * store object that stored new events, once its transaction committed, and when another store
   * of the same database — another tab, window or worker of the site — posts its
   * {@link IndexedDbStoredMessage} (with `broadcast: false` there, or where `BroadcastChannel` is
   * missing, those are not heard; pass `pollIntervalMs` to be called that often as well). The
   * listener gets the newest version as a string. `watchChanges` (from `sync-kit`) reads the
   * changes themselves.
   * @param listener - the wake-up; what it throws is ignored.
   * @param options - `pollIntervalMs` (default: no poll) and `timers`; `backoff` is not used.
   * @returns stops watching (resolves at once); `close()` stops every watcher.
   * @throws SyncKitError `invalid-argument` (a listener that is not a function, a bad
   * `pollIntervalMs` or `timers`), `closed`.
   */
  watch(listener: (latest?: string) => void, options?: StoreWatchOptions): () => Promise<void>
}
