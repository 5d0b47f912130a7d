import type { Version } from './version.js'

/**
 * A JSON value: what an event's `data` and `metadata` must be made of so that every store and
 * transport can persist and send it without loss.
 */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/**
 * Metadata carried with an event. Free-form JSON, with a few keys that sync-kit reads or writes.
 *
 * Reserved keys (all optional):
 * - `tenant` — the tenant the event belongs to; the `tenant` {@link Filter} matches it and the
 *   HTTP server overwrites it with the authenticated tenant.
 * - `hlc` — the hybrid logical clock stamp (string form) the `SyncManager` stamped when the event
 *   was recorded.
 * - `origin` — the id of the replica that recorded the event.
 * - `causal` — the causal context the writer had seen when it recorded the event (vector clock
 *   string form), used to tell happened-before from concurrent.
 */
export interface EventMetadata {
  readonly [key: string]: JsonValue | undefined
  /** Tenant id; matched by the `tenant` filter. */
  readonly tenant?: string
  /** Hybrid logical clock stamp in its string form (see `Hlc`). */
  readonly hlc?: string
  /** Id of the replica that recorded the event. */
  readonly origin?: string
  /** Causal context (vector clock string form) of the writer when it recorded the event. */
  readonly causal?: string
}

/**
 * A syncable event: a plain, readonly object describing one change to one aggregate.
 *
 * Events are immutable facts identified by `id`. Stores are idempotent by `id`: storing the same
 * event twice is a no-op, storing a different event under an existing `id` is rejected.
 *
 * `data` must be JSON-serialisable (no `undefined`, functions, `bigint`, `NaN`/`Infinity` or
 * cycles); stores reject anything else with the `invalid-event` error code.
 *
 * @typeParam TType - the event type name, e.g. `'TodoAdded'`.
 * @typeParam TData - the payload's shape.
 *
 * @example
 * ```ts
 * import type { Event } from 'sync-kit/types'
 *
 * const added: Event<'TodoAdded', { title: string }> = {
 *   id: '01J0000000000000000000000',
 *   type: 'TodoAdded',
 *   aggregateId: 'todo-1',
 *   data: { title: 'Buy milk' },
 * }
 * ```
 */
export interface Event<TType extends string = string, TData = unknown> {
  /** Globally unique id of this event (e.g. a UUID or ULID). Non-empty. */
  readonly id: string
  /** Event type, e.g. `'UserCreated'`. Non-empty. */
  readonly type: TType
  /** Id of the aggregate (entity, document) the event changes. Non-empty. */
  readonly aggregateId: string
  /** The payload. Must be JSON-serialisable. */
  readonly data: TData
  /** Optional metadata; see {@link EventMetadata} for the reserved keys. */
  readonly metadata?: EventMetadata
}

/**
 * An event paired with the version (cursor) at which a particular store or remote holds it.
 *
 * The version belongs to the sequence space of whoever returned it: a local store's cursor means
 * nothing to a remote, and the other way round.
 */
export interface EventWithVersion<TEvent extends Event = Event> {
  /** The event. */
  readonly event: TEvent
  /** Where the returning store or remote holds the event. */
  readonly version: Version
}
