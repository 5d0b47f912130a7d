import type { Filter, SignalOptions, Timers } from './common.js'
import type { Event, EventWithVersion, JsonValue } from './event.js'
import type { Version } from './version.js'

/** Options for {@link EventStore.load} and {@link EventStore.loadByAggregate}. */
export interface LoadOptions extends SignalOptions {
  /** Filters (see {@link Filter}); all must match. */
  readonly filters?: readonly Filter[]
  /**
   * Page size: at most this many events are returned, the oldest first. A positive integer.
   * @defaultValue no limit
   */
  readonly limit?: number
}

/** The outcome of storing one event. */
export interface StoreResult {
  /** The version (cursor) at which the store holds the event. */
  readonly version: Version
  /** True when an identical event with the same id was already stored (nothing changed). */
  readonly duplicate: boolean
}

/** Which way a checkpoint tracks progress. */
export type CheckpointDirection = 'push' | 'pull'

/** Identifies one checkpoint: one per remote and direction. */
export interface CheckpointKey {
  /** A stable name of the remote (e.g. its URL or a name the app chose). Non-empty. */
  readonly remote: string
  /** `push`: the last local version sent; `pull`: the last remote version received. */
  readonly direction: CheckpointDirection
}

/** A persisted sync checkpoint. */
export interface Checkpoint {
  /**
   * The version string: for `push` a local store version, for `pull` a remote version, both as
   * produced by `Version.toString()`.
   */
  readonly version: string
  /** The remote's epoch when the checkpoint was taken; a changed epoch invalidates it. */
  readonly epoch?: string
}

/** Options for {@link EventStore.storeBatch}. */
export interface StoreBatchOptions extends SignalOptions {
  /**
   * A checkpoint to set in the same atomic step as the batch, so progress never runs ahead of
   * (or behind) the events it covers.
   */
  readonly checkpoint?: {
    /** Which checkpoint: the remote and the direction. */
    readonly key: CheckpointKey
    /** Its new value. */
    readonly value: Checkpoint
  }
}

/**
 * Options for {@link EventStore.watch}.
 * @example
 * ```ts
 * import type { StoreWatchOptions } from 'sync-kit/types'
 *
 * const options: StoreWatchOptions = { pollIntervalMs: 10_000, backoff: { initialMs: 200, maxMs: 30_000 } }
 * ```
 */
export interface StoreWatchOptions {
  /**
   * The fallback poll: the listener is also called this often, in milliseconds, so that a
   * wake-up lost with a dropped connection is late by at most this long.
   * @defaultValue the store's (5000 for the PostgreSQL store)
   */
  readonly pollIntervalMs?: number
  /**
   * Waits between attempts to reconnect after the store's listening connection broke (full
   * jitter: the same spelling as every backoff of sync-kit).
   * @defaultValue the store's (`{ initialMs: 100, maxMs: 10_000 }` for the PostgreSQL store)
   */
  readonly backoff?: {
    /** The first reconnect's window, in ms. */
    readonly initialMs?: number
    /** The largest window, in ms. */
    readonly maxMs?: number
  }
  /**
   * The timers for the poll and the reconnect waits (a `TestClock` in tests).
   * @defaultValue the global `setTimeout`/`clearTimeout`
   */
  readonly timers?: Timers
}

/**
 * Persistence for events: an append-only log with a cursor, idempotent by event id.
 *
 * Contract (checked by `eventStoreConformance` in `sync-kit/testing`):
 * - `store` assigns each new event a version greater than every version before it.
 * - Storing an event whose id exists with identical content is a no-op that reports
 *   `duplicate: true`; with different content it rejects with `event-id-conflict` and changes
 *   nothing.
 * - `load(since)` returns events strictly after `since`, in version order; `null` means "from the
 *   beginning".
 * - `latestVersion` is the zero version while empty and non-zero once events exist.
 * - `parseVersion` accepts whatever this store's versions' `toString` produced.
 * - After `close()` every call rejects with `closed`.
 * - Every async call honours `signal` and rejects with `aborted`.
 *
 * Adapter authors: check your implementation at compile time with
 * `const store = createMyStore() satisfies EventStore`, and at run time with the conformance
 * suite.
 *
 * @example
 * ```ts
 * import type { EventStore } from 'sync-kit/types'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const store: EventStore = createMemoryStore()
 * await store.store({ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} })
 * const page = await store.load(null, { limit: 100 })
 * ```
 */
export interface EventStore {
  /**
   * Persists one event.
   * @param event - the event; validated (non-empty id, type, aggregateId; JSON data).
   * @param options - cancellation.
   * @returns where the event is stored and whether it was a duplicate.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `closed`, `aborted`.
   */
  store(event: Event, options?: SignalOptions): Promise<StoreResult>
  /**
   * Optional capability: persists a batch atomically (all or nothing), in order, optionally with a
   * checkpoint. Callers fall back to `store` per event when it is absent.
   * @param events - the events, in the order to store them.
   * @param options - cancellation and an optional checkpoint to set in the same step.
   * @returns one result per input event, at the same index.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `closed`, `aborted`.
   */
  storeBatch?(events: readonly Event[], options?: StoreBatchOptions): Promise<StoreResult[]>
  /**
   * Loads events strictly after `since`, oldest first.
   * @param since - a version of this store, or `null` for the beginning.
   * @param options - filters, page limit, cancellation.
   * @returns the events with their versions.
   * @throws SyncKitError `version-mismatch`, `unsupported-filter`, `invalid-argument`, `closed`,
   * `aborted`.
   */
  load(since: Version | null, options?: LoadOptions): Promise<EventWithVersion[]>
  /**
   * Loads one aggregate's events strictly after `since`, oldest first.
   * @param aggregateId - the aggregate.
   * @param since - a version of this store, or `null` for the beginning.
   * @param options - filters, page limit, cancellation.
   * @returns the aggregate's events with their versions.
   * @throws SyncKitError as {@link EventStore.load}.
   */
  loadByAggregate(
    aggregateId: string,
    since: Version | null,
    options?: LoadOptions,
  ): Promise<EventWithVersion[]>
  /**
   * The version of the newest stored event; the zero version while the store is empty.
   * @throws SyncKitError `closed`, `aborted`.
   */
  latestVersion(options?: SignalOptions): Promise<Version>
  /**
   * Parses a version string this store produced.
   * @param value - the string form.
   * @returns the version.
   * @throws SyncKitError `version-parse`.
   */
  parseVersion(value: string): Version
  /**
   * Reads a sync checkpoint.
   * @param key - which remote and direction.
   * @returns the checkpoint, or `undefined` when none was set.
   * @throws SyncKitError `closed`, `aborted`.
   */
  getCheckpoint(key: CheckpointKey, options?: SignalOptions): Promise<Checkpoint | undefined>
  /**
   * Writes a sync checkpoint durably.
   * @param key - which remote and direction.
   * @param value - the checkpoint.
   * @throws SyncKitError `invalid-argument`, `closed`, `aborted`.
   */
  setCheckpoint(key: CheckpointKey, value: Checkpoint, options?: SignalOptions): Promise<void>
  /**
   * Optional server capability: the epoch of the log this store holds (see `PullResult.epoch`).
   * Returns the stored epoch; when the store has none yet, keeps `candidate` and returns it, in one
   * atomic step, so that several server processes opening one empty database at the same time all
   * answer with the same epoch. The server core reads it once, at start. Stores without it get a
   * fallback kept in a checkpoint, which is safe for one server process only.
   * @param candidate - a fresh epoch to keep if the store has none; non-empty.
   * @param options - cancellation.
   * @returns the store's epoch.
   * @throws SyncKitError `invalid-argument` (empty candidate), `unavailable` (the store cannot be
   * written), `closed`, `aborted`.
   */
  loadOrCreateEpoch?(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Optional server capability, beside {@link EventStore.loadOrCreateEpoch}: gives the log a new
   * epoch, replacing the stored one (or keeping `candidate` when there is none), durably and in
   * one atomic step; `loadOrCreateEpoch` returns it from then on. For operators who restored the
   * database from a backup: the restored log lacks what was written after the backup, which
   * clients already hold or were told it holds, so it must not keep the epoch their cursors
   * belong to. With a new epoch every client treats it as a new log — pulls from the start and
   * re-sends its own events the log lacks (`sync-kit epoch --renew`, docs/server.md).
   *
   * A server reads the epoch once, at start: renew it while no server runs on the store (or
   * restart them). Every durable sync-kit store has it; stores without it get a fallback kept in
   * the same checkpoint as `loadOrCreateEpoch`'s.
   * @param candidate - the new epoch; non-empty.
   * @param options - cancellation.
   * @returns the store's epoch from now on: `candidate`.
   * @throws SyncKitError `invalid-argument` (empty candidate), `unavailable` (the store cannot be
   * written), `closed`, `aborted`.
   */
  renewEpoch?(candidate: string, options?: SignalOptions): Promise<string>
  /**
   * Optional capability: reads a small durable value a replica keeps beside its log (see
   * {@link EventStore.setState}).
   * @param key - 1–256 characters; keys starting `sync-kit:` belong to sync-kit.
   * @param options - cancellation.
   * @returns the value last written under `key`, or `undefined` when none is.
   * @throws SyncKitError `invalid-argument` (bad key), `closed`, `aborted`.
   */
  getState?(key: string, options?: SignalOptions): Promise<JsonValue | undefined>
  /**
   * Optional capability: writes a small durable value beside the log, or deletes it when `value`
   * is `undefined`. The `SyncManager` keeps here what must survive a restart: events refused by
   * the remote or by this store, undecided conflicts, the highest clock stamp it merged, what
   * each remote is known to hold; browser stores keep their replica id. A store without it still
   * syncs, but those things then live in memory only (documented per feature).
   *
   * Durable when the promise resolves; readable by `getState` after a close and reopen.
   * @param key - 1–256 characters; keys starting `sync-kit:` belong to sync-kit.
   * @param value - a JSON value (what `JSON.stringify` writes and `JSON.parse` reads back
   * equal); `undefined` deletes the key.
   * @param options - cancellation.
   * @throws SyncKitError `invalid-argument` (bad key or a value that is not JSON), `closed`,
   * `aborted`.
   */
  setState?(key: string, value: JsonValue | undefined, options?: SignalOptions): Promise<void>
  /**
   * Optional capability: calls `listener` when the log grew, so that readers learn of appends
   * they did not make — an app's views (`watchChanges`), a server's live feeds for events other
   * instances stored (the server core calls `notify()` from it). A wake-up, not a feed: read
   * from your cursor, the store is the truth. Wake-ups may be late, repeated or spurious, never
   * lost for good: a store whose notifications can be missed (a dropped connection) calls
   * `listener` once it listens again and polls every `pollIntervalMs` whatever happens.
   *
   * Every built-in store has it. What each hears: the memory store, every append (nothing else
   * writes to it); the SQLite store, appends through the same store object (other processes on
   * the file only with `pollIntervalMs`); the IndexedDB store, its own appends and those other
   * tabs post on its `BroadcastChannel`; the PostgreSQL store, every instance's (`NOTIFY`).
   * Stores that learn of an append in-process call `listener` synchronously once it completed,
   * before the append's promise resolves.
   * @param listener - called with the newest version as a string when the store knows it,
   * without an argument otherwise (a poll, a reconnect). What it throws is ignored.
   * @param options - the fallback poll, the reconnect backoff, the timers.
   * @returns a function that stops watching and releases what watching holds (a connection).
   * @throws SyncKitError `invalid-argument` for bad options, `closed` after `close()`.
   */
  watch?(listener: (latest?: string) => void, options?: StoreWatchOptions): () => Promise<void>
  /**
   * Optional capability of stores reached over a network: one round trip to the database, for
   * health checks (`GET /v1/health` reports whether the database is reachable). Changes nothing.
   * @param options - cancellation (a health check bounds the wait with it).
   * @throws SyncKitError `unavailable` when the database cannot be reached or does not answer,
   * `closed`, `aborted`.
   */
  ping?(options?: SignalOptions): Promise<void>
  /** Releases resources. Idempotent. Every later call rejects with `closed`. */
  close(): Promise<void>
}
