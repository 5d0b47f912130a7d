/**
 * sync-kit core: versions and clocks, the memory event store, the loopback transport, conflict
 * resolvers and the `SyncManager`. Dependency-free; runs in browsers, Node and workers.
 *
 * @example
 * ```ts
 * import { SyncManager, createMemoryStore, createLoopbackHub, lastWriteWins } from 'sync-kit'
 * ```
 *
 * @packageDocumentation
 */
export type * from './types/index.js'
export { SyncKitError, isSyncKitError } from './errors/sync-kit-error.js'
export type { SyncKitErrorCode, SyncKitErrorDetails } from './errors/sync-kit-error.js'
export { SequenceVersion } from './versions/sequence-version.js'
export {
  DEFAULT_MAX_DRIFT_MS,
  HLC_MAX_COUNTER,
  HLC_MAX_WALL_MS,
  Hlc,
  HybridLogicalClock,
  assertNodeId,
} from './versions/hlc.js'
export type { HybridLogicalClockOptions } from './versions/hlc.js'
export {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from './stores/memory/index.js'
export {
  EVENT_FIELD_MAX_LENGTH,
  EVENT_JSON_MAX_DEPTH,
  canonicalJson,
  deepFreeze,
  eventsEqual,
  jsonEqual,
  validateEvent,
  type ValidateEventOptions,
} from './core/event-validation.js'
export {
  STANDARD_FILTER_KEYS,
  compileFilterGroups,
  compileFilters,
  groupFilters,
  validateLimit,
  type FilterGroups,
} from './core/filters.js'
export * from './transports/loopback/index.js'
export { MAX_VECTOR_CLOCK_ENTRIES, VectorClock } from './versions/vector-clock.js'
export type { CausalRelation } from './versions/vector-clock.js'
export { MAX_CAUSAL_COUNT, causalContextOf } from './causality/causal-context.js'
export type { CausalContext } from './causality/causal-context.js'
export { causalRelation, relate } from './causality/event-relation.js'
export type { EventRelation } from './causality/event-relation.js'
export { changedFields } from './sync/changed-fields.js'
export {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_SYNC_INTERVAL_MS,
} from './sync/sync-options.js'
export { SyncManager } from './sync/sync-manager.js'
export type {
  ConflictReport,
  RecordInput,
  SyncDirection,
  SyncManagerEvents,
  SyncManagerOptions,
  SyncOptions,
  SyncResult,
} from './sync/sync-options.js'
export type { Timers } from './types/index.js'
export * from './resolvers/index.js'
export * from './projections/index.js'
