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
export * from './transports/loopback/index.js'
