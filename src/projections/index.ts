/**
 * Projections: an aggregate's state from its events (field patches, counters, sets), tombstones
 * and the delete-vs-concurrent-edit rule, the same on every replica for any delivery order; and
 * the change API that keeps views current as the store's log grows (`watchChanges`,
 * `keepCurrent`). Re-exported from `sync-kit`.
 *
 * @example
 * ```ts
 * import { createTombstone, materializeAggregate } from 'sync-kit'
 * ```
 *
 * @module
 */
export { createProjection } from './create-projection.js'
export type { Projection } from './create-projection.js'
export { compareEvents } from './event-order.js'
export type { FieldKind, SetOperation } from './field-operations.js'
export { materializeAggregate } from './materialize-aggregate.js'
export type {
  AggregateStatus,
  MaterializeOptions,
  MaterializedAggregate,
} from './materialize-aggregate.js'
export {
  DEFAULT_DELETE_RULE,
  TOMBSTONE_EVENT_TYPE,
  createTombstone,
  isTombstone,
} from './tombstone.js'
export type { DeleteRule, TombstoneEvent, TombstoneOptions } from './tombstone.js'
export { watchChanges } from './watch-changes.js'
export type { StoreChange, StoreChangeListener, WatchChangesOptions } from './watch-changes.js'
export { keepCurrent } from './keep-current.js'
export type { KeepCurrentOptions } from './keep-current.js'
