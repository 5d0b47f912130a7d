/**
 * sync-kit core: versions and clocks, the memory event store, the loopback transport, conflict
 * resolvers and projections, errors and the `SyncManager`. Dependency-free; runs in browsers, Node
 * and workers.
 *
 * This is the app developer's API. The helpers a store or transport author needs (event
 * validation, canonical JSON, filter compilation, checkpoint and option checks, timers, backoff,
 * low-level causality, limits) live in `sync-kit/adapter`; `test/exports.test.ts` keeps this
 * entry at 40 runtime values or fewer.
 *
 * @example
 * ```ts
 * import { SyncManager, createMemoryStore, createLoopbackHub, lastWriteWins } from 'sync-kit'
 * ```
 *
 * Features of the `SyncManager` that cost bytes are reached through imports, not options:
 * `liveMode()`, `refusalList()`, `durableConflicts()` (pass them in `features`), the resolvers
 * beyond `lastWriteWins`, `VectorClock`; what an app does not import, it does not ship.
 *
 * @packageDocumentation
 * @module sync-kit
 */
export type * from './types/index.js'
export { SyncKitError, isSyncKitError } from './errors/sync-kit-error.js'
export type { SyncKitErrorCode, SyncKitErrorDetails } from './errors/sync-kit-error.js'
export { SequenceVersion } from './versions/sequence-version.js'
export { DEFAULT_MAX_DRIFT_MS, Hlc, HybridLogicalClock } from './versions/hlc.js'
export type { HybridLogicalClockOptions } from './versions/hlc.js'
export {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from './stores/memory/index.js'
export * from './transports/loopback/index.js'
export { MAX_VECTOR_CLOCK_ENTRIES, VectorClock } from './versions/vector-clock.js'
export type { CausalRelation } from './versions/vector-clock.js'
export { causalRelation } from './causality/event-relation.js'
export type { EventRelation } from './causality/event-relation.js'
export {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_SYNC_INTERVAL_MS,
} from './sync/sync-options.js'
export { SyncManager } from './sync/sync-manager.js'
export { liveMode } from './sync/live-mode.js'
export { refusalList } from './sync/refusal-list.js'
export { durableConflicts } from './sync/durable-conflicts.js'
export type { SyncFeature } from './sync/feature.js'
export type { Refusal } from './sync/refusal.js'
export type {
  ConflictReport,
  RecordInput,
  SyncDirection,
  SyncManagerEvents,
  SyncManagerOptions,
  SyncOptions,
  SyncResult,
} from './sync/sync-options.js'
export * from './resolvers/index.js'
export * from './projections/index.js'
