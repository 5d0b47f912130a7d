/** Options every asynchronous call accepts. */
export interface SignalOptions {
  /**
   * Cancels the call. An aborted call rejects with a `SyncKitError` of code `aborted` and leaves
   * stored data as it was before the call (or, for batches, wholly applied).
   */
  readonly signal?: AbortSignal
}

/**
 * A filter on events: one key and one value.
 *
 * Standard keys: `type` (the event type), `tenant` (`metadata.tenant`) and `aggregate_id` (the
 * aggregate id). Filters with the same key are OR-ed, filters with different keys are AND-ed:
 * `[{key:'type',value:'A'},{key:'type',value:'B'},{key:'tenant',value:'t1'}]` matches events of
 * type A or B in tenant t1. A store or transport that does not support a key rejects the call with
 * the `unsupported-filter` error code rather than silently returning unfiltered events.
 *
 * **Deletes pass `type` filters.** A `type` filter also matches every tombstone (type
 * `sync-kit:tombstone`, `TOMBSTONE_EVENT_TYPE`), whatever types it names: a replica syncing only
 * `TodoAdded` must still learn that a todo it holds was deleted, and the server cannot know which
 * aggregates a replica holds. `tenant` and `aggregate_id` filters apply to tombstones as to any
 * event, so a replica never receives another tenant's deletes. The cost is a replica receiving the
 * tombstones of aggregates of types it does not sync (a tombstone is small, and projections of
 * an aggregate it never held ignore it). Every store and filter compiler implements this rule
 * (`includeTombstones` in `sync-kit/adapter`), and the conformance suite checks it.
 */
export interface Filter {
  /** The key: `type`, `tenant`, `aggregate_id`, or an adapter-specific key. */
  readonly key: FilterKey
  /** The value to match exactly. */
  readonly value: string
}

/** The standard filter keys, plus any string an adapter documents. */
export type FilterKey = 'type' | 'tenant' | 'aggregate_id' | (string & {})

/** A source of wall-clock time, injectable so tests are deterministic. */
export interface Clock {
  /** Milliseconds since the Unix epoch, like `Date.now()`. */
  now(): number
}

/**
 * Timer functions, injectable so tests run on a `TestClock` (which has both as properties, so
 * `timers: clock` works). The one timers contract of sync-kit: the `SyncManager`, the loopback
 * hub and the HTTP client all take it as their `timers` option.
 */
export interface Timers {
  /** Schedules `fn` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown
  /** Cancels a handle returned by `setTimeout`; unknown or fired handles are ignored. */
  clearTimeout(handle: unknown): void
}

/** Generates a new, globally unique event id. */
export type IdGenerator = () => string
