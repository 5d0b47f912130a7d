import { TOMBSTONE_EVENT_TYPE } from '../core/filters.js'
import { describe } from '../core/json-value.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventMetadata, JsonValue } from '../types/index.js'

// The constant lives with the filters, whose contract it is part of (a `type` filter matches it).
export { TOMBSTONE_EVENT_TYPE }

/**
 * What happens when a delete and an edit of the same aggregate are concurrent (neither writer had
 * seen the other's event):
 *
 * - `delete-wins` (the default): the aggregate stays deleted; a concurrent edit is discarded.
 * - `edit-wins`: the later of the two (in `compareEvents` order, i.e. by HLC) wins, so an edit
 *   stamped after the delete keeps the aggregate alive — with the fields of the edits the delete
 *   had not seen, not those it removed.
 *
 * In both modes an edit the delete had seen, or a concurrent one stamped before it, never
 * resurrects the aggregate; an edit that causally follows the delete (its writer had seen the
 * delete) re-creates it from empty, whatever its stamp (rule 1 of docs/causality.md).
 */
export type DeleteRule = 'delete-wins' | 'edit-wins'

/**
 * The default {@link DeleteRule}: `delete-wins`.
 *
 * @example
 * ```ts
 * import { DEFAULT_DELETE_RULE, materializeAggregate } from 'sync-kit'
 *
 * materializeAggregate(events, { deleteRule: DEFAULT_DELETE_RULE })
 * ```
 */
export const DEFAULT_DELETE_RULE: DeleteRule = 'delete-wins'

/** Input of {@link createTombstone}. */
export interface TombstoneOptions {
  /** The aggregate to delete. Non-empty. */
  readonly aggregateId: string
  /** An event id; omit it when the `SyncManager` records the event (it generates one). */
  readonly id?: string
  /**
   * An optional payload, e.g. `{ reason: 'spam' }`. Projections ignore it.
   * @defaultValue `null`
   */
  readonly data?: JsonValue
  /** Optional metadata (the `SyncManager` adds `hlc`, `origin` and `causal`). */
  readonly metadata?: EventMetadata
}

/** A delete event, ready for `SyncManager.record` (without `id`) or `EventStore.store` (with). */
export interface TombstoneEvent {
  /** The event id, when one was given. */
  readonly id?: string
  /** Always {@link TOMBSTONE_EVENT_TYPE}. */
  readonly type: typeof TOMBSTONE_EVENT_TYPE
  /** The deleted aggregate. */
  readonly aggregateId: string
  /** The payload (`null` unless given). */
  readonly data: JsonValue
  /** The metadata, when given. */
  readonly metadata?: EventMetadata
}

/**
 * Makes a delete (tombstone) event for an aggregate.
 *
 * @param options - the aggregate, and optionally an id, a payload and metadata.
 * @returns the event; pass it to `manager.record(...)` so it is stamped and synced.
 * @throws SyncKitError `invalid-argument` when `aggregateId` (or a given `id`) is not a non-empty
 * string.
 * @example
 * ```ts
 * import { createTombstone } from 'sync-kit'
 *
 * await manager.record(createTombstone({ aggregateId: 'todo-1', data: { reason: 'done' } }))
 * ```
 */
export function createTombstone(
  options: TombstoneOptions & { readonly id: string },
): Event<typeof TOMBSTONE_EVENT_TYPE, JsonValue>
export function createTombstone(options: TombstoneOptions): TombstoneEvent
export function createTombstone(options: TombstoneOptions): TombstoneEvent {
  const { aggregateId, id } = options
  if (typeof aggregateId !== 'string' || aggregateId === '') {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [tombstone] aggregateId must be a non-empty string: name the aggregate to delete',
      { argument: 'aggregateId' },
    )
  }
  if (id !== undefined && (typeof id !== 'string' || id === '')) {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [tombstone] id must be a non-empty string when given; omit it to let the SyncManager generate one',
      { argument: 'id' },
    )
  }
  return {
    ...(id !== undefined ? { id } : {}),
    type: TOMBSTONE_EVENT_TYPE,
    aggregateId,
    data: options.data ?? null,
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  }
}

/**
 * Tells whether an event is a delete.
 * @param event - any event.
 * @returns true when `event.type` is {@link TOMBSTONE_EVENT_TYPE}.
 * @example
 * ```ts
 * import { isTombstone } from 'sync-kit'
 *
 * if (isTombstone(event)) console.log(`${event.aggregateId} was deleted`)
 * ```
 */
export function isTombstone(event: Pick<Event, 'type'>): boolean {
  return event.type === TOMBSTONE_EVENT_TYPE
}

/**
 * Checks a {@link DeleteRule} option.
 * @param value - the option as given.
 * @param component - names the caller in the error message.
 * @returns the rule, {@link DEFAULT_DELETE_RULE} when absent.
 * @throws SyncKitError `invalid-argument` for anything else.
 */
export function checkDeleteRule(value: unknown, component: string): DeleteRule {
  if (value === undefined) return DEFAULT_DELETE_RULE
  if (value === 'delete-wins' || value === 'edit-wins') return value
  throw new SyncKitError(
    'invalid-argument',
    `[sync-kit] [${component}] deleteRule must be 'delete-wins' or 'edit-wins', got ${describe(value)}`,
    { argument: 'deleteRule' },
  )
}
