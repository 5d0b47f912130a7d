/**
 * The `SyncManager`'s options, results and event names (its public vocabulary), their defaults,
 * and the one check that turns options into the {@link SyncContext} every part of the manager reads.
 *
 * @module
 */
import { type ResolvedBackoff, resolveBackoff } from '../core/backoff.js'
import { integerOption } from '../core/options.js'
import { SYSTEM_CLOCK, resolveTimers } from '../core/timers.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { lastWriteWins } from '../resolvers/last-write-wins.js'
import { Emitter } from './emitter.js'
import { type FeatureSlots, type SyncFeature, applyFeatures } from './feature.js'
import type {
  CheckpointKey,
  Clock,
  Conflict,
  ConflictResolver,
  Event,
  EventMetadata,
  EventStore,
  Filter,
  IdGenerator,
  ResolvedConflict,
  Timers,
  Transport,
  Version,
} from '../types/index.js'
import { resolveNodeId } from './node-id-option.js'
import type { CausalTracker } from './causal-tracker.js'
import type { ConflictQueue } from './conflict-queue.js'
import type { EpochTracker } from './epoch-tracker.js'
import type { RefusalHandler } from './refusal.js'
import type { RemoteHolds } from './remote-holds.js'

/** Default number of events per push or pull request: 500. */
export const DEFAULT_BATCH_SIZE = 500
/** Default period of `start()`'s background sync: 30 000 ms. */
export const DEFAULT_SYNC_INTERVAL_MS = 30_000
/** Default first retry delay after a failed background sync: 1 000 ms. */
export const DEFAULT_BACKOFF_INITIAL_MS = 1_000
/** Default longest retry delay after repeated failures: 60 000 ms. */
export const DEFAULT_BACKOFF_MAX_MS = 60_000

/** Which way a `SyncManager` syncs. */
export type SyncDirection = 'both' | 'push' | 'pull'

/** Options for `SyncManager`. */
export interface SyncManagerOptions {
  /** The local replica's event store. */
  readonly store: EventStore
  /** The connection to the remote. */
  readonly transport: Transport
  /**
   * This replica's id: the HLC node id and vector clock key of every event it records. Keep it
   * stable across restarts; a replica whose store was wiped needs a new id. 1–64 characters of
   * `A-Z a-z 0-9 . _ ~ -`.
   * @defaultValue the store's `replicaId` when it has one (the IndexedDB store keeps one with
   * its database); required otherwise
   */
  readonly nodeId?: string
  /** Decides conflicts. @defaultValue last-write-wins by HLC */
  readonly resolver?: ConflictResolver
  /** Name of the remote, the key of the checkpoints. @defaultValue `'default'` */
  readonly remote?: string
  /** Events per push/pull request. @defaultValue {@link DEFAULT_BATCH_SIZE} */
  readonly batchSize?: number
  /** Only events matching these filters are pushed and pulled. */
  readonly filters?: readonly Filter[]
  /** Push only, pull only, or both. @defaultValue `'both'` */
  readonly direction?: SyncDirection
  /** Wall-clock source for HLC stamps and durations. @defaultValue `Date` */
  readonly clock?: Clock
  /** Event id generator for `record`. @defaultValue `crypto.randomUUID` */
  readonly generateId?: IdGenerator
  /** Largest accepted forward drift of remote HLC stamps, in ms. @defaultValue 60 000 */
  readonly maxDriftMs?: number
  /** Period of background sync after `start()`, in ms. @defaultValue {@link DEFAULT_SYNC_INTERVAL_MS} */
  readonly intervalMs?: number
  /**
   * Retry delays after failures, in ms: attempt n waits a random time in
   * `[0, min(maxMs, initialMs · 2^(n−1))]` ("full jitter").
   * @defaultValue `{ initialMs: 1000, maxMs: 60000 }`
   */
  readonly backoff?: {
    /** The first retry's window, in ms. @defaultValue {@link DEFAULT_BACKOFF_INITIAL_MS} */
    readonly initialMs?: number
    /** The largest window, in ms. @defaultValue {@link DEFAULT_BACKOFF_MAX_MS} */
    readonly maxMs?: number
  }
  /**
   * Features the app imports, e.g. `[liveMode(), refusalList(), durableConflicts()]`: code an app
   * does not import is not in its bundle.
   * @defaultValue none
   */
  readonly features?: readonly SyncFeature[]
  /** Random source in [0, 1) for jitter. @defaultValue `Math.random` */
  readonly random?: () => number
  /**
   * Timer functions. @defaultValue the clock's own `setTimeout`/`clearTimeout` when it has both
   * (a `TestClock` does), else the global ones
   */
  readonly timers?: Timers
}

/** What one `sync()` did. */
export interface SyncResult {
  /** Events sent to the remote. */
  readonly pushed: number
  /** Events received from the remote that were new to the local store. */
  readonly pulled: number
  /** Conflicts detected (pairs of concurrent events on one aggregate). */
  readonly conflicts: number
  /** Conflicts the resolver decided (any decision but `defer`). */
  readonly resolved: number
  /** Wall time the sync took, in ms. */
  readonly durationMs: number
}

/** Options for `SyncManager.sync`. */
export interface SyncOptions {
  /** Cancels the sync. */
  readonly signal?: AbortSignal
  /** Only push or only pull in this call (within the manager's own `direction`). */
  readonly only?: 'push' | 'pull'
  /**
   * Push nothing stored after this local version in this call — e.g. to hand a peer exactly the
   * causal history of one event.
   */
  readonly pushUntil?: Version
}

/** An event to record: like {@link Event}, with the id optional. */
export interface RecordInput<TType extends string = string, TData = unknown> {
  /** The id; generated when absent. */
  readonly id?: string
  /** The event type. */
  readonly type: TType
  /** The aggregate it changes. */
  readonly aggregateId: string
  /** The JSON payload. */
  readonly data: TData
  /** Extra metadata; `hlc`, `origin` and `causal` are set by the manager. */
  readonly metadata?: EventMetadata
}

/** A detected conflict and what the resolver made of it. */
export interface ConflictReport {
  /** The conflict. */
  readonly conflict: Conflict
  /** The resolver's decision. */
  readonly resolution: ResolvedConflict
}

/** Events a `SyncManager` emits, by name. */
export interface SyncManagerEvents {
  /** A `sync()` finished. */
  sync: SyncResult
  /** A conflict was detected and resolved (or deferred). */
  conflict: ConflictReport
  /**
   * Something failed: a background sync, the live stream, a resolver, or an event was refused —
   * by the remote or by the local store — and listed in `refusals()` (a `SyncKitError` of the
   * refusal's code, with `details.eventId` and `details.bytes`).
   */
  error: unknown
  /** A remote event's HLC stamp was beyond the drift bound: stored, but the clock was not moved. */
  'clock-drift': {
    /** The pulled event (stored). */
    readonly event: Event
    /** The `clock-drift` error: the stamp, its lead over the clock and the bound, in ms. */
    readonly error: SyncKitError<'clock-drift'>
  }
  /**
   * The remote's epoch changed (wiped or replaced), or the remote regressed within its epoch
   * (restored from a backup: then `previous` equals `current`): checkpoints were reset, what the
   * remote lacks is re-sent and its log pulled again from the beginning.
   */
  'epoch-changed': {
    /** The epoch the manager had synced with. */
    readonly previous: string
    /** The remote's epoch now (equal to `previous` after a regression). */
    readonly current: string
  }
}

/** Counts of a pull pass (or of deciding queued conflicts). */
export interface PullCounts {
  /** Events new to the local store. */
  pulled: number
  /** Conflicts detected. */
  conflicts: number
  /** Conflicts decided (any decision but `defer`). */
  resolved: number
}

/** The stateful parts of a manager (all but the scheduler), which the passes update. */
export interface SyncParts {
  readonly causal: CausalTracker
  readonly conflicts: ConflictQueue
  readonly epochs: EpochTracker
  readonly holds: RemoteHolds
  readonly refusals: RefusalHandler
}

/**
 * What every part of a manager reads: {@link SyncManagerOptions} checked, with every default
 * filled in, the manager's emitter, and the slots its features filled.
 */
export interface SyncContext extends Readonly<FeatureSlots> {
  readonly nodeId: string
  readonly store: EventStore
  readonly transport: Transport
  readonly resolver: ConflictResolver
  readonly batchSize: number
  readonly filters?: readonly Filter[]
  readonly direction: SyncDirection
  readonly clock: Clock
  readonly generateId: IdGenerator
  readonly maxDriftMs?: number
  readonly intervalMs: number
  /** Retry windows of the scheduler, in ms. */
  readonly backoff: ResolvedBackoff
  readonly random: () => number
  /** The `timers` option, else the clock's timers, else the global ones. */
  readonly timers: Timers
  /** Key of the push checkpoint in the local store: `{ remote, direction: 'push' }`. */
  readonly pushKey: CheckpointKey
  /** Key of the pull checkpoint in the local store: `{ remote, direction: 'pull' }`. */
  readonly pullKey: CheckpointKey
  /** The manager's emitter: every part reports through it. */
  readonly events: Emitter<SyncManagerEvents>
}

const COMPONENT = 'sync-manager'

/**
 * Checks the options and fills in the defaults.
 * @param options - as given to the `SyncManager` constructor.
 * @returns the context: the checked options and a new emitter.
 * @throws SyncKitError `invalid-argument` for a bad node id, batch size, interval, backoff,
 * direction, remote or timers.
 */
export function resolveSyncOptions(options: SyncManagerOptions): SyncContext {
  const nodeId = resolveNodeId(options.nodeId, options.store)
  const batchSize = integerOption(options.batchSize, DEFAULT_BATCH_SIZE, 'batchSize', COMPONENT)
  const direction = options.direction ?? 'both'
  if (!['both', 'push', 'pull'].includes(direction))
    throw invalid('direction', 'both, push or pull')
  const intervalMs = integerOption(
    options.intervalMs,
    DEFAULT_SYNC_INTERVAL_MS,
    'intervalMs',
    COMPONENT,
  )
  const backoff = resolveBackoff(
    options.backoff,
    { initialMs: DEFAULT_BACKOFF_INITIAL_MS, maxMs: DEFAULT_BACKOFF_MAX_MS },
    'backoff',
    COMPONENT,
  )
  const timers = resolveTimers(options.timers, options.clock, COMPONENT)
  const remote = options.remote ?? 'default'
  if (typeof remote !== 'string' || remote === '') throw invalid('remote', 'a non-empty string')
  const ctx: SyncContext = {
    ...options,
    nodeId,
    resolver: options.resolver ?? lastWriteWins(),
    batchSize,
    direction,
    clock: options.clock ?? SYSTEM_CLOCK,
    generateId: options.generateId ?? (() => globalThis.crypto.randomUUID()),
    intervalMs,
    backoff,
    random: options.random ?? Math.random,
    timers,
    pushKey: { remote, direction: 'push' },
    pullKey: { remote, direction: 'pull' },
    events: new Emitter(),
  }
  applyFeatures(options, ctx as FeatureSlots)
  return ctx
}

function invalid(name: string, want: string): SyncKitError {
  return new SyncKitError(
    'invalid-argument',
    `[sync-kit] [${COMPONENT}] option ${name} must be ${want}`,
    { argument: name },
  )
}
