import { validateEvent } from '../core/event-validation.js'
import { throwIfAborted } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type {
  Checkpoint,
  CheckpointKey,
  Clock,
  Conflict,
  ConflictResolver,
  Event,
  EventMetadata,
  EventStore,
  EventWithVersion,
  Filter,
  IdGenerator,
  PushOptions,
  PushResult,
  ResolvedConflict,
  StoreResult,
  Subscription,
  Transport,
  Version,
} from '../types/index.js'
import { Hlc, HybridLogicalClock, assertNodeId } from '../versions/hlc.js'
import { VectorClock } from '../versions/vector-clock.js'
import { type CausalContext, causalContextOf } from '../causality/causal-context.js'
import { relate } from '../causality/event-relation.js'
import { changedFields } from './changed-fields.js'
import { lastWriteWins } from '../resolvers/last-write-wins.js'

/** Default number of events per push or pull request: 500. */
export const DEFAULT_BATCH_SIZE = 500
/** Default period of `start()`'s background sync: 30 000 ms. */
export const DEFAULT_SYNC_INTERVAL_MS = 30_000
/** Default first retry delay after a failed background sync: 1 000 ms. */
export const DEFAULT_BACKOFF_INITIAL_MS = 1_000
/** Default longest retry delay after repeated failures: 60 000 ms. */
export const DEFAULT_BACKOFF_MAX_MS = 60_000

const INIT_PAGE = 1_000
/**
 * How many times one push or pull pass starts over for a changed remote epoch before it gives up:
 * a real reset needs one; more means the epoch keeps changing under us.
 */
const MAX_EPOCH_RESTARTS = 3

/** Which way a `SyncManager` syncs. */
export type SyncDirection = 'both' | 'push' | 'pull'

/** Timer functions, injectable so tests run on a `TestClock`. */
export interface Timers {
  /** Schedules `fn` after `ms` milliseconds; returns a handle. */
  setTimeout(fn: () => void, ms: number): unknown
  /** Cancels a handle returned by `setTimeout`. */
  clearTimeout(handle: unknown): void
}

/** Options for {@link SyncManager}. */
export interface SyncManagerOptions {
  /** The local replica's event store. */
  readonly store: EventStore
  /** The connection to the remote. */
  readonly transport: Transport
  /**
   * This replica's id: the HLC node id and vector clock key of every event it records. Keep it
   * stable across restarts; a replica whose store was wiped needs a new id. 1–64 characters of
   * `A-Z a-z 0-9 . _ ~ -`.
   */
  readonly nodeId: string
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
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number }
  /** After `start()`, also subscribe to the remote and sync as soon as it reports new events. @defaultValue false */
  readonly live?: boolean
  /** Random source in [0, 1) for jitter. @defaultValue `Math.random` */
  readonly random?: () => number
  /** Timer functions. @defaultValue the global `setTimeout`/`clearTimeout` */
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

/** Options for {@link SyncManager.sync}. */
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

/** Events a {@link SyncManager} emits, by name. */
export interface SyncManagerEvents {
  /** A `sync()` finished. */
  sync: SyncResult
  /** A conflict was detected and resolved (or deferred). */
  conflict: ConflictReport
  /** Something failed: a background sync, a resolver, a quarantined event. */
  error: unknown
  /** A remote event's HLC stamp was beyond the drift bound: stored, but the clock was not moved. */
  'clock-drift': { readonly event: Event; readonly error: SyncKitError<'clock-drift'> }
  /** The remote's epoch changed (wiped or replaced): checkpoints were reset and data re-sent. */
  'epoch-changed': { readonly previous: string; readonly current: string }
}

interface Head {
  readonly ctx: CausalContext
  readonly ewv: EventWithVersion
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now() }
const GLOBAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

/**
 * Syncs a local {@link EventStore} with a remote through a {@link Transport}: pushes local events
 * the remote has not acknowledged, pulls remote events not yet pulled, detects concurrent changes
 * to the same aggregate and hands them to a {@link ConflictResolver}.
 *
 * Guarantees:
 * - **Checkpoints**: one per direction, stored in the local store, advanced only after a batch is
 *   acknowledged (push) or stored (pull, in the same atomic step when the store has
 *   `storeBatch`). A restart neither re-sends nor re-pulls finished work.
 * - **At-least-once is harmless**: stores dedup by event id, so duplicates, retries and own
 *   echoes change nothing and are never conflicts.
 * - **Causality**: `record` stamps each event with an HLC (`metadata.hlc`), its writer
 *   (`metadata.origin`) and a vector clock of what the writer had seen (`metadata.causal`). A
 *   conflict is raised exactly when a pulled event is concurrent with the latest local event(s) of
 *   the same aggregate.
 * - **Epochs**: when the remote reports a new epoch (wiped or replaced), both checkpoints are reset
 *   and everything is re-sent and re-pulled (deduplicated on both sides).
 * - Concurrent `sync()` calls coalesce: a call made while one runs waits for one follow-up run
 *   that covers it.
 *
 * @example
 * ```ts
 * import { SyncManager, createMemoryStore, createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const manager = new SyncManager({
 *   store: createMemoryStore(),
 *   transport: hub.connect('phone'),
 *   nodeId: 'phone',
 * })
 * await manager.record({ type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
 * const { pushed, pulled, conflicts } = await manager.sync()
 * ```
 */
export class SyncManager {
  /** This replica's id. */
  readonly nodeId: string
  private readonly store: EventStore
  private readonly transport: Transport
  private readonly resolver: ConflictResolver
  private readonly batchSize: number
  private readonly filters: readonly Filter[] | undefined
  private readonly direction: SyncDirection
  private readonly clock: Clock
  private readonly generateId: IdGenerator
  private readonly maxDriftMs: number | undefined
  private readonly intervalMs: number
  private readonly backoffInitialMs: number
  private readonly backoffMaxMs: number
  private readonly live: boolean
  private readonly random: () => number
  private readonly timers: Timers
  private readonly pushKey: CheckpointKey
  private readonly pullKey: CheckpointKey
  private readonly listeners = new Map<keyof SyncManagerEvents, Set<(payload: never) => void>>()

  private hlc: HybridLogicalClock | undefined
  private seen: VectorClock = VectorClock.EMPTY
  private readonly heads = new Map<string, Head[]>()
  private nodeIdReuseReported = false
  /** Conflicts detected but not decided yet: `[local head, remote event]`, oldest first. */
  private readonly unresolved: (readonly [EventWithVersion, EventWithVersion])[] = []
  private initializing: Promise<void> | undefined
  private inflight: Promise<SyncResult> | undefined
  private followUp: Promise<SyncResult> | undefined
  private running = false
  private closed = false
  private failures = 0
  private timer: unknown
  private subscription: Subscription | undefined
  private subscribing = false

  /**
   * Creates a manager. Nothing runs until `record`, `sync` or `start` is called.
   * @param options - store, transport, node id and tuning.
   * @throws SyncKitError `invalid-argument` for a bad node id, batch size, interval or remote.
   */
  constructor(options: SyncManagerOptions) {
    assertNodeId(options.nodeId)
    this.nodeId = options.nodeId
    this.store = options.store
    this.transport = options.transport
    this.resolver = options.resolver ?? lastWriteWins()
    this.batchSize = positiveInt(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize')
    this.filters = options.filters
    this.direction = options.direction ?? 'both'
    if (!['both', 'push', 'pull'].includes(this.direction)) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-manager] direction must be both, push or pull`,
        {
          argument: 'direction',
        },
      )
    }
    this.clock = options.clock ?? SYSTEM_CLOCK
    this.generateId = options.generateId ?? (() => globalThis.crypto.randomUUID())
    this.maxDriftMs = options.maxDriftMs
    this.intervalMs = positiveInt(options.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS, 'intervalMs')
    this.backoffInitialMs = positiveInt(
      options.backoff?.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS,
      'backoff.initialMs',
    )
    this.backoffMaxMs = positiveInt(
      options.backoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS,
      'backoff.maxMs',
    )
    this.live = options.live ?? false
    this.random = options.random ?? Math.random
    this.timers = options.timers ?? GLOBAL_TIMERS
    const remote = options.remote ?? 'default'
    if (typeof remote !== 'string' || remote === '') {
      throw new SyncKitError(
        'invalid-argument',
        '[sync-manager] remote must be a non-empty string',
        {
          argument: 'remote',
        },
      )
    }
    this.pushKey = { remote, direction: 'push' }
    this.pullKey = { remote, direction: 'pull' }
  }

  /**
   * Listens to an event of the manager.
   * @param name - `sync`, `conflict`, `error`, `clock-drift` or `epoch-changed`.
   * @param listener - called with the payload; exceptions it throws are reported as `error`.
   * @returns a function that removes the listener.
   */
  on<TName extends keyof SyncManagerEvents>(
    name: TName,
    listener: (payload: SyncManagerEvents[TName]) => void,
  ): () => void {
    let set = this.listeners.get(name)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(name, set)
    }
    const entry = listener as (payload: never) => void
    set.add(entry)
    return () => set.delete(entry)
  }

  /**
   * Records a local change: stamps it (id, HLC, origin, causal context) and stores it. It is
   * pushed by the next `sync()`.
   * @param input - the event without the fields the manager sets.
   * @param options - cancellation.
   * @returns the stored event and its local version.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `closed`, `aborted`, and whatever
   * the store throws.
   */
  async record<TInput extends RecordInput>(
    input: TInput,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<EventWithVersion<Event<TInput['type'], TInput['data']>>> {
    this.assertOpen()
    throwIfAborted(options.signal, '[sync-manager] record')
    checkRecordInput(input)
    await this.init(options.signal)
    const hlc = this.requireHlc().now()
    const seen = this.seen.increment(this.nodeId)
    // A frozen copy: changes the caller makes to its input afterwards reach neither the returned
    // event nor the conflicts this replica detects (the heads keep this very object).
    const event = validateEvent(
      {
        id: input.id ?? this.generateId(),
        type: input.type,
        aggregateId: input.aggregateId,
        data: input.data,
        metadata: {
          ...input.metadata,
          hlc: hlc.toString(),
          origin: this.nodeId,
          causal: seen.toString(),
        },
      },
      'sync-manager',
      { freeze: true },
    ) as Event<TInput['type'], TInput['data']>
    this.seen = seen
    const result = await this.store.store(event, options.signal ? { signal: options.signal } : {})
    const stored: EventWithVersion<Event<TInput['type'], TInput['data']>> = {
      event,
      version: result.version,
    }
    if (!result.duplicate) this.observe(stored)
    return stored
  }

  /**
   * Pushes local events the remote has not acknowledged, then pulls remote events not yet pulled,
   * resolving conflicts on the way.
   *
   * Calls made while a sync runs coalesce into one follow-up run; a call with `only` or
   * `pushUntil` runs on its own after the current one.
   * @param options - cancellation (an aborted sync keeps the checkpoints of the batches it
   * finished), and optional narrowing of this call.
   * @returns counts and duration.
   * @throws SyncKitError `aborted`, `closed`, and transport or store errors (`unavailable`,
   * `timeout`, …).
   */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    try {
      this.assertOpen()
      throwIfAborted(options.signal, '[sync-manager] sync')
    } catch (error) {
      return Promise.reject(error)
    }
    if (options.only !== undefined || options.pushUntil !== undefined) {
      const previous = this.inflight?.catch(() => undefined) ?? Promise.resolve(undefined)
      const tracked: Promise<SyncResult> = previous
        .then(() => this.run(options))
        .finally(() => {
          if (this.inflight === tracked) this.inflight = undefined
        })
      this.inflight = tracked
      return abortable(tracked, options.signal)
    }
    if (this.inflight === undefined) {
      const tracked: Promise<SyncResult> = this.run(options).finally(() => {
        if (this.inflight === tracked) this.inflight = undefined
      })
      this.inflight = tracked
      return tracked
    }
    // One follow-up run covers every call made while a sync is in flight.
    this.followUp ??= this.inflight
      .catch(() => undefined)
      .then(() => {
        this.followUp = undefined
        return this.sync()
      })
    return abortable(this.followUp, options.signal)
  }

  /**
   * Starts background sync: one now, then every `intervalMs`; after a failure, retries with
   * exponential backoff and full jitter. With `live: true`, also subscribes to the remote and syncs
   * as soon as it reports new events. Errors are emitted as `error`, never thrown.
   */
  start(): void {
    this.assertOpen()
    if (this.running) return
    this.running = true
    this.failures = 0
    this.schedule(0)
    if (this.live) void this.subscribeLive()
  }

  /**
   * Stops background sync and the live subscription, and waits for an in-flight sync to settle.
   */
  async stop(): Promise<void> {
    this.running = false
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer)
    this.timer = undefined
    const sub = this.subscription
    this.subscription = undefined
    await sub?.unsubscribe().catch(() => undefined)
    // The follow-up of coalesced calls starts only when the in-flight run ends: wait until neither
    // is left, or a sync would still run (and use the transport) after stop() resolved.
    while (this.inflight !== undefined || this.followUp !== undefined) {
      await Promise.allSettled([this.inflight, this.followUp])
    }
  }

  /**
   * Stops the manager for good. The store and transport stay open: they belong to the caller.
   */
  async close(): Promise<void> {
    await this.stop()
    this.closed = true
  }

  /** True while background sync runs (between `start()` and `stop()`). */
  get isRunning(): boolean {
    return this.running
  }

  // ---------------------------------------------------------------------------------------------

  private async run(options: SyncOptions): Promise<SyncResult> {
    const signal = options.signal
    const started = this.clock.now()
    await this.init(signal)
    const push = this.direction !== 'pull' && options.only !== 'pull'
    const pull = this.direction !== 'push' && options.only !== 'push'
    const until = options.pushUntil
    let pushed = push ? await this.pushAll(signal, until) : 0
    let pulled = { pulled: 0, conflicts: 0, resolved: 0 }
    if (pull) {
      // Conflicts a failed or aborted sync detected but did not get to decide come first.
      const carried = await this.resolvePending(signal)
      pulled = await this.pullAll(signal)
      pulled.conflicts += carried.conflicts
      pulled.resolved += carried.resolved
      // An epoch change found while pulling resets the push checkpoint: re-send now.
      if (push && this.epochReset) {
        this.epochReset = false
        pushed += await this.pushAll(signal, until)
      }
    }
    const result: SyncResult = {
      pushed,
      ...pulled,
      durationMs: Math.max(0, this.clock.now() - started),
    }
    this.emit('sync', result)
    return result
  }

  private epochReset = false
  private remoteEpoch: string | undefined

  private async pushAll(signal: AbortSignal | undefined, until?: Version): Promise<number> {
    const opts = signal ? { signal } : {}
    const cp = await this.store.getCheckpoint(this.pushKey, opts)
    let since: Version | null = this.pushStart(cp)
    let checkpointEpoch = cp?.epoch
    let pushed = 0
    let restarts = 0
    for (;;) {
      throwIfAborted(signal, '[sync-manager] push')
      const loaded = await this.store.load(since, this.loadOptions(signal))
      const page =
        until === undefined ? loaded : loaded.filter((e) => e.version.compare(until) <= 0)
      if (page.length === 0) break
      // Conditioned on the epoch of our checkpoint: if the remote was wiped or replaced meanwhile,
      // it stores nothing, and we re-send our history from the beginning first, so its new log
      // never holds an effect before its cause.
      const ifEpoch = checkpointEpoch ?? this.remoteEpoch
      let result: PushResult
      try {
        result = await this.pushPage(page, ifEpoch === undefined ? opts : { ...opts, ifEpoch })
      } catch (error) {
        if (!isSyncKitError(error, 'epoch-mismatch')) throw error
        const current = error.details.actual
        this.noteEpoch(current)
        this.checkEpochRestarts(++restarts, ifEpoch ?? '', current)
        this.epochChanged(ifEpoch ?? '', current)
        checkpointEpoch = current
        since = null
        continue
      }
      if (result.epoch !== undefined) {
        this.noteEpoch(result.epoch)
        if (checkpointEpoch !== undefined && checkpointEpoch !== result.epoch) {
          // The remote was wiped or replaced since our checkpoint: it may lack anything we sent
          // before. Send everything again from the beginning (the remote dedups by id).
          this.epochChanged(checkpointEpoch, result.epoch)
          if (since !== null) this.checkEpochRestarts(++restarts, checkpointEpoch, result.epoch)
          checkpointEpoch = result.epoch
          if (since !== null) {
            since = null
            continue
          }
        }
        checkpointEpoch = result.epoch
      }
      const last = page[page.length - 1] as EventWithVersion
      const value: Checkpoint = withEpoch(last.version.toString(), result.epoch ?? this.remoteEpoch)
      await this.store.setCheckpoint(this.pushKey, value, opts)
      pushed += page.length
      since = last.version
      if (loaded.length < this.batchSize || page.length < loaded.length) break
    }
    return pushed
  }

  /**
   * Pushes one page. When the remote refuses the page for one bad event (an id it holds with other
   * content, an event it finds invalid, or one over its size limit), the events are sent one at a
   * time so the rest still arrive; the refused ones are reported as `error` and skipped.
   */
  private async pushPage(
    page: readonly EventWithVersion[],
    opts: PushOptions,
  ): Promise<PushResult> {
    try {
      return await this.transport.push(
        page.map((e) => e.event),
        opts,
      )
    } catch (error) {
      if (!isRefusal(error)) throw error
      if (page.length === 1) {
        this.emit('error', error)
        return { stored: 0, duplicates: 0 }
      }
    }
    let stored = 0
    let duplicates = 0
    let epoch: string | undefined
    for (const { event } of page) {
      try {
        const one = await this.transport.push([event], opts)
        stored += one.stored
        duplicates += one.duplicates
        epoch = one.epoch ?? epoch
      } catch (error) {
        if (!isRefusal(error)) throw error
        this.emit('error', error)
      }
    }
    return epoch === undefined ? { stored, duplicates } : { stored, duplicates, epoch }
  }

  private pushStart(cp: Checkpoint | undefined): Version | null {
    if (cp === undefined) return null
    // A checkpoint taken against another epoch of the remote is meaningless: start over.
    if (this.remoteEpoch !== undefined && cp.epoch !== undefined && cp.epoch !== this.remoteEpoch) {
      return null
    }
    return this.store.parseVersion(cp.version)
  }

  private async pullAll(
    signal: AbortSignal | undefined,
  ): Promise<{ pulled: number; conflicts: number; resolved: number }> {
    const opts = signal ? { signal } : {}
    const cp = await this.store.getCheckpoint(this.pullKey, opts)
    let since: Version | null = cp === undefined ? null : this.transport.parseVersion(cp.version)
    let checkpointEpoch = cp?.epoch
    // Without a pull checkpoint (nothing pulled yet), the push checkpoint still says which epoch
    // our pushed events went to: a reset since then must be noticed here, or they are never resent.
    const pushedEpoch =
      checkpointEpoch === undefined && this.direction !== 'pull'
        ? (await this.store.getCheckpoint(this.pushKey, opts))?.epoch
        : undefined
    const totals = { pulled: 0, conflicts: 0, resolved: 0 }
    let restarts = 0
    for (;;) {
      throwIfAborted(signal, '[sync-manager] pull')
      const page = await this.transport.pull(since, {
        limit: this.batchSize,
        ...(this.filters ? { filters: this.filters } : {}),
        ...opts,
      })
      if (page.epoch !== undefined) {
        this.noteEpoch(page.epoch)
        if (checkpointEpoch !== undefined && checkpointEpoch !== page.epoch) {
          // The remote was wiped or replaced: its cursors restarted. Pull from the beginning (the
          // store dedups what we already hold) and re-send our events.
          this.checkEpochRestarts(++restarts, checkpointEpoch, page.epoch)
          this.epochChanged(checkpointEpoch, page.epoch)
          checkpointEpoch = page.epoch
          this.epochReset = true
          since = null
          continue
        }
        if (
          checkpointEpoch === undefined &&
          pushedEpoch !== undefined &&
          pushedEpoch !== page.epoch
        ) {
          this.epochChanged(pushedEpoch, page.epoch)
          this.epochReset = true
        }
        checkpointEpoch = page.epoch
      }
      if (page.events.length === 0) break
      const last = page.events[page.events.length - 1] as EventWithVersion
      if (since !== null && last.version.compare(since) <= 0) {
        // A remote that does not move past `since` would be asked for the same page forever.
        throw new SyncKitError(
          'protocol',
          `[sync-manager] the remote answered a pull after version ${since.toString().slice(0, 64)} with events up to ${last.version.toString().slice(0, 64)}, not after it; it must return only events after the requested version`,
          {},
        )
      }
      const value = withEpoch(last.version.toString(), page.epoch)
      const counts = await this.ingest(page.events, value, signal)
      totals.pulled += counts.pulled
      totals.conflicts += counts.conflicts
      totals.resolved += counts.resolved
      since = last.version
      if (!page.hasMore) break
    }
    return totals
  }

  /** Stores one pulled page, advances the pull checkpoint with it, and runs conflict detection. */
  private async ingest(
    remote: readonly EventWithVersion[],
    checkpoint: Checkpoint,
    signal: AbortSignal | undefined,
  ): Promise<{ pulled: number; conflicts: number; resolved: number }> {
    const opts = signal ? { signal } : {}
    const events = remote.map((e) => e.event)
    const { results, atomic } = await this.storePulled(events, checkpoint, signal)
    let pulled = 0
    let firstNew: number | undefined
    let lastNew: number | undefined
    // Take the whole page into account before resolving anything: it is stored and checkpointed
    // already, so if a resolver fails or the sync is aborted half-way, the clocks and heads must
    // still cover every event of it, or later local edits would not follow events this replica
    // holds (and could lose to them under last-write-wins).
    const found: (readonly [Head, EventWithVersion])[] = []
    for (let i = 0; i < events.length; i++) {
      const result = results[i]
      if (result === undefined) continue
      const event = events[i] as Event
      if (result.duplicate) {
        // Stored by an earlier attempt that failed before taking it into account (e.g. the
        // checkpoint write failed after the events were stored): take it into account now.
        if (!this.isUnobserved(event)) continue
      } else {
        firstNew ??= i
        lastNew = i
        pulled++
        if (event.metadata?.origin === this.nodeId) this.reportNodeIdReuse(event)
      }
      this.receiveStamp(event)
      const stored: EventWithVersion = { event, version: result.version }
      for (const head of this.observe(stored)) found.push([head, stored])
    }
    for (const [head, stored] of found) this.unresolved.push([head.ewv, stored])
    const { conflicts, resolved } = await this.resolvePending(signal)
    // Only an atomic batch is known to occupy consecutive versions: stored one at a time, a local
    // event recorded meanwhile may sit between two pulled events, and must still be pushed.
    if (atomic && firstNew !== undefined && lastNew !== undefined) {
      await this.skipEchoPush(
        events[firstNew] as Event,
        (results[lastNew] as StoreResult).version,
        opts,
      )
    }
    return { pulled, conflicts, resolved }
  }

  /**
   * Decides the queued conflicts, oldest first. A conflict leaves the queue once decided (or once
   * its resolver failed, which is reported); when the sync is aborted or the store fails while
   * one is decided, it and the rest stay queued for the next sync rather than being lost.
   */
  private async resolvePending(
    signal: AbortSignal | undefined,
  ): Promise<{ conflicts: number; resolved: number }> {
    let conflicts = 0
    let resolved = 0
    for (;;) {
      const next = this.unresolved[0]
      if (next === undefined) break
      if (await this.resolve(next[0], next[1], signal)) resolved++
      conflicts++
      this.unresolved.shift()
    }
    return { conflicts, resolved }
  }

  /**
   * A new event pulled under this replica's own node id: the store was wiped or restored from a
   * backup, or another replica uses the same id. Events recorded before this pull may share
   * causal dots with older events (which then look equal, hiding conflicts). Observing the pulled
   * events catches the clock up, so later records are safe; report it once.
   */
  private reportNodeIdReuse(event: Event): void {
    if (this.nodeIdReuseReported) return
    this.nodeIdReuseReported = true
    this.emit(
      'error',
      new SyncKitError(
        'invalid-argument',
        `[sync-manager] pulled event "${event.id.slice(0, 64)}" was recorded under this replica's node id "${this.nodeId}" but is not in its store: the store was wiped or restored, or another replica uses the same node id; give every replica, and every wiped store, a node id of its own`,
        { argument: 'nodeId' },
      ),
    )
  }

  /**
   * True when a stored event carries a dot this replica has not taken into account yet (neither
   * the event nor anything that followed it was observed).
   */
  private isUnobserved(event: Event): boolean {
    if (event.metadata?.origin === this.nodeId) return false
    const ctx = causalContextOf(event)
    return ctx !== undefined && this.seen.get(ctx.origin) < ctx.seq
  }

  /**
   * Stores a pulled page and advances the pull checkpoint.
   * @returns one result per event (`undefined` for a quarantined event), and whether the page
   * was stored as one atomic batch.
   */
  private async storePulled(
    events: readonly Event[],
    checkpoint: Checkpoint,
    signal: AbortSignal | undefined,
  ): Promise<{ results: (StoreResult | undefined)[]; atomic: boolean }> {
    const opts = signal ? { signal } : {}
    if (this.store.storeBatch !== undefined) {
      try {
        const results = await this.store.storeBatch(events, {
          ...opts,
          checkpoint: { key: this.pullKey, value: checkpoint },
        })
        return { results, atomic: true }
      } catch (error) {
        // One bad event must not block the stream forever: fall back to one at a time and
        // quarantine the events the store refuses.
        if (!isRefusal(error)) throw error
      }
    }
    const results: (StoreResult | undefined)[] = []
    for (const event of events) {
      try {
        results.push(await this.store.store(event, opts))
      } catch (error) {
        if (!isRefusal(error)) throw error
        this.emit('error', error)
        results.push(undefined)
      }
    }
    await this.store.setCheckpoint(this.pullKey, checkpoint, opts)
    return { results, atomic: false }
  }

  /**
   * Events pulled from the remote need not be pushed back to it. When every local event before the
   * pulled batch was already pushed, move the push checkpoint past the batch. The check is made
   * after storing, on versions, so a local event recorded meanwhile is never skipped.
   */
  private async skipEchoPush(
    firstNew: Event,
    lastNewVersion: Version,
    opts: { signal?: AbortSignal },
  ): Promise<void> {
    if (
      this.direction !== 'both' ||
      this.filters !== undefined ||
      this.store.storeBatch === undefined
    )
      return
    const cp = await this.store.getCheckpoint(this.pushKey, opts)
    const since = this.pushStart(cp)
    const next = await this.store.load(since, { limit: 1, ...opts })
    if (next[0]?.event.id !== firstNew.id) return
    await this.store.setCheckpoint(
      this.pushKey,
      withEpoch(lastNewVersion.toString(), cp?.epoch ?? this.remoteEpoch),
      opts,
    )
  }

  private async resolve(
    local: EventWithVersion,
    remote: EventWithVersion,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const conflict: Conflict = {
      eventType: remote.event.type,
      aggregateId: remote.event.aggregateId,
      changedFields: changedFields(local.event.data, remote.event.data),
      metadata: {
        localOrigin: local.event.metadata?.origin ?? null,
        remoteOrigin: remote.event.metadata?.origin ?? null,
        detectedBy: this.nodeId,
      },
      local,
      remote,
    }
    let resolution: ResolvedConflict
    try {
      resolution = await this.resolver.resolve(conflict, signal ? { signal } : {})
    } catch (cause) {
      if (isSyncKitError(cause, 'aborted')) throw cause
      this.emit(
        'error',
        new SyncKitError(
          'resolver-failed',
          `[sync-manager] resolver failed on aggregate "${conflict.aggregateId}"`,
          { aggregateId: conflict.aggregateId },
          { cause },
        ),
      )
      return false
    }
    try {
      for (const event of resolution.resolvedEvents) {
        if (event.id === local.event.id || event.id === remote.event.id) continue
        const result = await this.store.store(event, signal ? { signal } : {})
        if (!result.duplicate) this.observe({ event, version: result.version })
      }
    } catch (cause) {
      // An event the store refuses is a broken resolution, not a broken sync.
      if (!isRefusal(cause)) throw cause
      this.emit(
        'error',
        new SyncKitError(
          'resolver-failed',
          `[sync-manager] the resolver returned an event the store refuses, on aggregate "${conflict.aggregateId}"; resolved events must be valid and have ids of their own`,
          { aggregateId: conflict.aggregateId },
          { cause },
        ),
      )
      return false
    }
    this.emit('conflict', { conflict, resolution })
    return resolution.decision !== 'defer'
  }

  /**
   * Updates the seen vector clock and the aggregate's heads with a newly stored event.
   * @returns the heads the event is concurrent with (its conflicts).
   */
  private observe(stored: EventWithVersion): Head[] {
    const ctx = causalContextOf(stored.event)
    if (ctx === undefined) return []
    this.seen = this.seen.merge(ctx.clock)
    const aggregateId = stored.event.aggregateId
    const heads = this.heads.get(aggregateId)
    if (heads === undefined) {
      this.heads.set(aggregateId, [{ ctx, ewv: stored }])
      return []
    }
    const next: Head[] = []
    const concurrent: Head[] = []
    let superseded = false
    for (const head of heads) {
      const relation = relate(head.ctx, ctx)
      if (relation === 'before') continue
      next.push(head)
      if (relation === 'concurrent') concurrent.push(head)
      else superseded = true
    }
    if (!superseded) next.push({ ctx, ewv: stored })
    this.heads.set(aggregateId, next)
    return concurrent
  }

  private receiveStamp(event: Event): void {
    const raw = event.metadata?.hlc
    if (typeof raw !== 'string') return
    let stamp: Hlc
    try {
      stamp = Hlc.parse(raw)
    } catch {
      return
    }
    try {
      this.requireHlc().receive(stamp)
    } catch (error) {
      if (isSyncKitError(error, 'clock-drift')) {
        // Quarantine: the event is kept (logs converge), but it does not drag our clock forward.
        this.emit('clock-drift', { event, error })
        return
      }
      throw error
    }
  }

  private init(signal: AbortSignal | undefined): Promise<void> {
    this.initializing ??= this.scan(signal).catch((error: unknown) => {
      this.initializing = undefined
      throw error
    })
    return this.initializing
  }

  /** Rebuilds the clocks and the aggregate heads from the local store (once per manager). */
  private async scan(signal: AbortSignal | undefined): Promise<void> {
    const options = {
      nodeId: this.nodeId,
      clock: this.clock,
      ...(this.maxDriftMs !== undefined ? { maxDriftMs: this.maxDriftMs } : {}),
    }
    // Received stamps go through the receive rule and its drift bound; our own stamps are restored
    // unconditionally, so stamps never go backwards even if the wall clock stepped back since.
    const receiver = new HybridLogicalClock(options)
    let ownLast: Hlc | undefined
    let since: Version | null = null
    for (;;) {
      const page = await this.store.load(since, { limit: INIT_PAGE, ...(signal ? { signal } : {}) })
      for (const stored of page) {
        this.observe(stored)
        const stamp = parseStamp(stored.event.metadata?.hlc)
        if (stamp === undefined) continue
        if (stamp.nodeId === this.nodeId) {
          if (ownLast === undefined || stamp.compare(ownLast) > 0) ownLast = stamp
        } else {
          try {
            receiver.receive(stamp)
          } catch {
            // Beyond the drift bound: quarantined, as when it was first received.
          }
        }
      }
      if (page.length < INIT_PAGE) break
      since = (page[page.length - 1] as EventWithVersion).version
    }
    const last =
      ownLast !== undefined && ownLast.compare(receiver.last) > 0 ? ownLast : receiver.last
    this.hlc = new HybridLogicalClock({ ...options, last })
  }

  private requireHlc(): HybridLogicalClock {
    if (this.hlc === undefined) throw new SyncKitError('internal', 'HLC used before init', {})
    return this.hlc
  }

  /**
   * Gives up a push or pull pass whose remote keeps changing its epoch (e.g. several servers with
   * separate logs behind one address): starting over again and again would never end.
   * @throws SyncKitError `unavailable` past {@link MAX_EPOCH_RESTARTS} restarts.
   */
  private checkEpochRestarts(restarts: number, previous: string, current: string): void {
    if (restarts <= MAX_EPOCH_RESTARTS) return
    throw new SyncKitError(
      'unavailable',
      `[sync-manager] the remote's epoch changed ${restarts} times during one sync (last "${previous.slice(0, 64)}" to "${current.slice(0, 64)}"): several servers with separate logs answer at one address, or the remote is reset over and over; retry later`,
      {},
    )
  }

  private noteEpoch(epoch: string): void {
    this.remoteEpoch = epoch
  }

  private lastEpochEvent: string | undefined

  private epochChanged(previous: string, current: string): void {
    if (this.lastEpochEvent === `${previous}\n${current}`) return
    this.lastEpochEvent = `${previous}\n${current}`
    this.emit('epoch-changed', { previous, current })
  }

  private loadOptions(signal: AbortSignal | undefined): {
    limit: number
    filters?: readonly Filter[]
    signal?: AbortSignal
  } {
    return {
      limit: this.batchSize,
      ...(this.filters ? { filters: this.filters } : {}),
      ...(signal ? { signal } : {}),
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer)
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined
      void this.tick()
    }, ms)
  }

  private async tick(): Promise<void> {
    if (!this.running) return
    try {
      await this.sync()
      this.failures = 0
      this.schedule(this.intervalMs)
    } catch (error) {
      this.failures++
      this.emit('error', error)
      this.schedule(this.backoffDelay(this.failures))
    }
  }

  /** Full jitter: random in [0, min(max, initial · 2^(n−1))]. (M. Brooker, AWS Architecture Blog, 2015.) */
  private backoffDelay(attempt: number): number {
    const cap = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(attempt - 1, 30))
    return Math.floor(this.random() * cap)
  }

  private async subscribeLive(): Promise<void> {
    const subscribe = this.transport.subscribe?.bind(this.transport)
    if (subscribe === undefined || this.subscribing || this.subscription !== undefined) return
    this.subscribing = true
    let attempt = 0
    try {
      while (this.running && this.subscription === undefined) {
        try {
          const sub = await subscribe(
            () => {
              if (this.running)
                void this.sync().catch((error: unknown) => this.emit('error', error))
            },
            {
              ...(this.filters ? { filters: this.filters } : {}),
              onError: (error) => this.emit('error', error),
            },
          )
          if (!this.running) {
            await sub.unsubscribe()
            // A start() during that wait found this attempt still running and left the live
            // subscription to it: the loop condition checks again.
            continue
          }
          this.subscription = sub
        } catch (error) {
          // An attempt abandoned by stop() (e.g. its transport closed since) is not a failure.
          if (!this.running) return
          this.emit('error', error)
          attempt++
          await new Promise<void>((resolve) => {
            this.timers.setTimeout(resolve, this.backoffDelay(attempt))
          })
        }
      }
    } finally {
      this.subscribing = false
    }
  }

  private emit<TName extends keyof SyncManagerEvents>(
    name: TName,
    payload: SyncManagerEvents[TName],
  ): void {
    const set = this.listeners.get(name)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        ;(listener as (p: SyncManagerEvents[TName]) => void)(payload)
      } catch (error) {
        if (name !== 'error') this.emit('error', error)
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new SyncKitError('closed', '[sync-manager] the manager was closed', {})
  }
}

/**
 * Checks what `spread` and property reads in `record` would otherwise turn into garbage: a
 * string or array as `metadata` would become numbered keys, a missing input a raw TypeError.
 */
function checkRecordInput(input: unknown): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [sync-manager] record takes { type, aggregateId, data, metadata?, id? }, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
      {},
    )
  }
  const metadata = (input as { metadata?: unknown }).metadata
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  ) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [sync-manager] record metadata must be a plain object of JSON values, got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}`,
      { field: 'metadata' },
    )
  }
}

/** An error that refuses particular events (not the connection): retrying them cannot help. */
function isRefusal(error: unknown): boolean {
  return (
    isSyncKitError(error, 'invalid-event') ||
    isSyncKitError(error, 'event-id-conflict') ||
    // One event over the remote's size limit: sending it again cannot help.
    isSyncKitError(error, 'payload-too-large')
  )
}

function parseStamp(raw: unknown): Hlc | undefined {
  if (typeof raw !== 'string') return undefined
  try {
    return Hlc.parse(raw)
  } catch {
    return undefined
  }
}

function withEpoch(version: string, epoch: string | undefined): Checkpoint {
  return epoch === undefined || epoch === '' ? { version } : { version, epoch }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-manager] ${name} must be a positive integer, got ${String(value)}`,
      { argument: name },
    )
  }
  return value
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(
        new SyncKitError(
          'aborted',
          '[sync-manager] sync was aborted',
          {},
          { cause: signal.reason },
        ),
      )
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}
