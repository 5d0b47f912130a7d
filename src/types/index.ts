/**
 * The contracts of sync-kit: interfaces and types only, zero bytes of runtime code.
 *
 * @example
 * ```ts
 * import type { Event, EventStore, Transport, ConflictResolver } from 'sync-kit/types'
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/types
 */
export type { Clock, Filter, FilterKey, IdGenerator, SignalOptions, Timers } from './common.js'
export type { Conflict, ConflictDecision, ConflictResolver, ResolvedConflict } from './conflict.js'
export type { Event, EventMetadata, EventWithVersion, JsonValue } from './event.js'
export type {
  Checkpoint,
  CheckpointDirection,
  CheckpointKey,
  EventStore,
  LoadOptions,
  StoreBatchOptions,
  StoreResult,
  StoreWatchOptions,
} from './store.js'
export type {
  EventHandler,
  LiveBatchInfo,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
  SubscribeOptions,
  Subscription,
  Transport,
} from './transport.js'
export type { Version } from './version.js'
