/**
 * `sync-kit/adapter`: the helpers sync-kit's own stores and transports are built from, for
 * authors of a new `EventStore` or `Transport` (IndexedDB, PostgreSQL, WebSocket, …). An app
 * needs none of them; it finds its whole API in `sync-kit`. See `docs/writing-a-store.md`.
 *
 * - Event validation and comparison: {@link validateEvent}, {@link eventsEqual},
 *   {@link canonicalJson}, {@link jsonEqual}, {@link deepFreeze}, {@link EVENT_FIELD_MAX_LENGTH},
 *   {@link EVENT_JSON_MAX_DEPTH}.
 * - Filters and page sizes: {@link compileFilters}, {@link groupFilters},
 *   {@link compileFilterGroups}, {@link includeTombstones} (a `type` filter matches deletes),
 *   {@link STANDARD_FILTER_KEYS}, {@link validateLimit}.
 * - Checkpoints: {@link checkCheckpointKey}, {@link checkCheckpointValue},
 *   {@link checkBatchCheckpoint}.
 * - Options, time and retries: {@link integerOption}, {@link resolveTimers},
 *   {@link SYSTEM_CLOCK}, {@link resolveBackoff}, {@link backoffDelay}, {@link throwIfAborted}.
 * - Causality and clocks at the wire level: {@link causalContextOf}, {@link relate},
 *   {@link MAX_CAUSAL_COUNT}, {@link changedFields}, {@link assertNodeId},
 *   {@link HLC_MAX_WALL_MS}, {@link HLC_MAX_COUNTER}.
 *
 * Errors are the one `SyncKitError` of `sync-kit` (the build shares one class between entries).
 *
 * @example
 * ```ts
 * import { compileFilters, eventsEqual, validateEvent, validateLimit } from 'sync-kit/adapter'
 * import { SequenceVersion, SyncKitError } from 'sync-kit'
 * import type { EventStore } from 'sync-kit/types'
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/adapter
 */
export {
  EVENT_FIELD_MAX_LENGTH,
  EVENT_JSON_MAX_DEPTH,
  canonicalJson,
  deepFreeze,
  eventsEqual,
  jsonEqual,
  validateEvent,
} from '../core/event-validation.js'
export type { ValidateEventOptions } from '../core/event-validation.js'
export {
  STANDARD_FILTER_KEYS,
  compileFilterGroups,
  compileFilters,
  groupFilters,
  includeTombstones,
  validateLimit,
} from '../core/filters.js'
export type { FilterGroups } from '../core/filters.js'
export {
  checkBatchCheckpoint,
  checkCheckpointKey,
  checkCheckpointValue,
} from '../core/checkpoint.js'
export { integerOption, refuseRenamedOptions } from '../core/options.js'
export { isEventStore } from '../core/store-shape.js'
export { MAX_STATE_KEY_LENGTH, checkStateKey, checkStateValue } from '../core/state.js'
export { SYSTEM_CLOCK, resolveTimers } from '../core/timers.js'
export { backoffDelay, resolveBackoff } from '../core/backoff.js'
export type { BackoffOptions, ResolvedBackoff } from '../core/backoff.js'
export { throwIfAborted } from '../errors/abort.js'
export { MAX_CAUSAL_COUNT, causalContextOf } from '../causality/causal-context.js'
export type { CausalContext, ClockMap } from '../causality/causal-context.js'
export { relate } from '../causality/event-relation.js'
export { changedFields } from '../sync/changed-fields.js'
export { HLC_MAX_COUNTER, HLC_MAX_WALL_MS, assertNodeId } from '../versions/hlc.js'
