/**
 * The `SyncManager`: the public facade over the parts of `src/sync/`, one job each —
 * `sync-options` (options, defaults, the shared context), `emitter` (events), `causal-tracker`
 * (HLC, seen vector clock, aggregate heads), `push-pass`, `pull-pass`, `conflict-queue`,
 * `epoch-tracker`, `remote-holds` (what the remote holds: no echo), `refusal` (the refusal list)
 * and `scheduler` (interval, backoff, live subscription), with `manager-state` (what survives a
 * restart) as a helper (and `untilAborted` from `errors/abort`). The facade records events, runs
 * one sync (push, then pull) and coalesces concurrent calls.
 *
 * @module
 */
import { validateEvent } from '../core/event-validation.js'
import { describe } from '../core/json-value.js'
import { signalOptions, throwIfAborted, untilAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventWithVersion } from '../types/index.js'
import { CausalTracker } from './causal-tracker.js'
import { ConflictQueue } from './conflict-queue.js'
import { EpochTracker } from './epoch-tracker.js'
import { checkHead, pullAll } from './pull-pass.js'
import { missingFeature } from './feature.js'
import { pushAll } from './push-pass.js'
import { type Refusal, refusalReporter } from './refusal.js'
import type { Refusals } from './refusal-list.js'
import { RemoteHolds } from './remote-holds.js'
import { Scheduler } from './scheduler.js'
import {
  type PullCounts,
  type RecordInput,
  type SyncContext,
  type SyncManagerEvents,
  type SyncParts,
  type SyncManagerOptions,
  type SyncOptions,
  type SyncResult,
  resolveSyncOptions,
} from './sync-options.js'

/** Names a sync in `aborted` messages: `[sync-kit] [sync-manager] sync was aborted`. */
const SYNC = '[sync-manager] sync'

/**
 * Syncs a local {@link EventStore} with a remote through a {@link Transport}: pushes local events
 * the remote has not acknowledged, pulls remote events not yet pulled, detects concurrent changes
 * to the same aggregate and hands them to a {@link ConflictResolver}.
 *
 * Guarantees:
 * - **Checkpoints**: one per direction, stored in the local store, advanced only after a batch is
 *   acknowledged (push) or stored (pull, in the same atomic step when the store has
 *   `storeBatch`). A restart neither re-sends nor re-pulls finished work.
 * - **No echo**: an event pulled from the remote is never pushed back to it (the manager keeps
 *   what the remote is known to hold); events pulled from another remote are relayed.
 * - **Nothing is skipped silently**: an event the remote or the local store refuses is reported
 *   as `error`, not counted, and listed by {@link SyncManager.refusals} until it goes through or
 *   the app drops it.
 * - **Regressions**: a remote whose latest version falls below the pull cursor (restored from a
 *   backup) is treated like a reset.
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
  readonly #ctx: SyncContext
  readonly #parts: SyncParts
  readonly #scheduler: Scheduler
  #inflight: Promise<SyncResult> | undefined
  /**
   * Runs that wait for their turn, shared by the calls made meanwhile: the follow-up of full
   * syncs (`all`), and runs narrowed by `only` (no `pushUntil`, no signal).
   */
  readonly #waiting = new Map<'push' | 'pull' | 'all', Promise<SyncResult>>()
  #closed = false

  /**
   * Creates a manager. Nothing runs until `record`, `sync` or `start` is called.
   * @param options - store, transport, node id and tuning.
   * @throws SyncKitError `invalid-argument` for a bad node id, batch size, interval, backoff,
   * direction, remote or timers.
   */
  constructor(options: SyncManagerOptions) {
    const ctx = resolveSyncOptions(options)
    this.nodeId = ctx.nodeId
    this.#ctx = ctx
    const causal = new CausalTracker(ctx)
    const epochs = new EpochTracker(ctx)
    this.#parts = {
      causal,
      epochs,
      conflicts: new ConflictQueue(ctx, causal),
      holds: new RemoteHolds(ctx),
      refusals: ctx.makeRefusals?.(ctx) ?? refusalReporter(ctx),
    }
    ctx.attach?.(this, this.#parts)
    this.#scheduler = new Scheduler(
      ctx,
      (only) => this.sync(only && { only }),
      () => (epochs.probe = true),
      (run) => this.#exclusive(run),
    )
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
    return this.#ctx.events.on(name, listener)
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
    this.#assertOpen()
    throwIfAborted(options.signal, '[sync-manager] record')
    checkRecordInput(input)
    await this.#parts.causal.init(options.signal)
    const { nodeId, generateId, store } = this.#ctx
    // A frozen copy: changes the caller makes to its input afterwards reach neither the returned
    // event nor the conflicts this replica detects (the heads keep this very object).
    const event = this.#parts.causal.stamp(
      ({ hlc, causal }) =>
        validateEvent(
          {
            id: input.id ?? generateId(),
            type: input.type,
            aggregateId: input.aggregateId,
            data: input.data,
            // Anything but a plain object stays as given, for validateEvent to refuse: spread,
            // a string or an array would become numbered keys.
            metadata: isRecord(input.metadata)
              ? { ...input.metadata, hlc, origin: nodeId, causal }
              : input.metadata === undefined
                ? { hlc, origin: nodeId, causal }
                : input.metadata,
          },
          'sync-manager',
          { freeze: true },
        ) as Event<TInput['type'], TInput['data']>,
      input.aggregateId,
    )
    const result = await store.store(event, signalOptions(options.signal))
    const stored = { event, version: result.version }
    if (!result.duplicate) this.#parts.causal.observe(stored)
    this.#scheduler.live?.recorded()
    return stored
  }

  /**
   * Pushes local events the remote has not acknowledged, then pulls remote events not yet pulled,
   * resolving conflicts on the way.
   *
   * Calls made while a sync runs coalesce into one follow-up run; a call with `only` or
   * `pushUntil` runs on its own after the current one — except that calls with the same `only`
   * and neither `pushUntil` nor `signal` share a run that has not started yet, so that pushing
   * after every `record()` (`sync({ only: 'push' })`, as `liveMode()` does) queues no push per
   * event. A follow-up run is not cancelled by one caller's signal: that caller's promise rejects
   * at once, the run goes on for the others.
   * @param options - cancellation (an aborted sync keeps the checkpoints of the batches it
   * finished), and optional narrowing of this call.
   * @returns counts and duration.
   * @throws SyncKitError `aborted`, `closed`, and transport or store errors (`unavailable`,
   * `timeout`, …).
   */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    try {
      this.#assertOpen()
      throwIfAborted(options.signal, SYNC)
    } catch (error) {
      return Promise.reject(error)
    }
    const { only } = options
    if (only !== undefined && options.pushUntil === undefined && options.signal === undefined) {
      return this.#shared(only)
    }
    if (only !== undefined || options.pushUntil !== undefined) {
      return untilAborted(
        this.#exclusive(() => this.#run(options)),
        options.signal,
        SYNC,
      )
    }
    if (this.#inflight === undefined) return this.#track(this.#run(options))
    // One follow-up run covers every call made while a sync is in flight. It takes its turn
    // after the work queued now (FIFO, as all exclusive work): re-checking for work in flight
    // when its turn came would let a steady stream of live batches and pushes starve it.
    return untilAborted(this.#shared('all'), options.signal, SYNC)
  }

  /**
   * The run of `key` that waits for its turn, queued now if none waits.
   * @param key - `all` for a full sync, else the direction it is narrowed to.
   * @returns the run's result.
   */
  #shared(key: 'push' | 'pull' | 'all'): Promise<SyncResult> {
    let run = this.#waiting.get(key)
    if (run === undefined) {
      run = this.#exclusive(() => {
        this.#waiting.delete(key)
        return this.#run(key === 'all' ? {} : { only: key })
      })
      this.#waiting.set(key, run)
    }
    return run
  }

  /**
   * Starts background sync: one now, then every `intervalMs`; after a failure, retries with
   * exponential backoff and full jitter. With the `liveMode()` feature, also subscribes to the
   * remote and syncs as soon as it reports new events. Errors are emitted as `error`, never thrown.
   */
  start(): void {
    this.#assertOpen()
    this.#scheduler.start()
  }

  /**
   * Stops background sync and the live subscription, and waits for an in-flight sync to settle —
   * a live batch being stored included: once it resolves, no sync or live batch writes to the
   * store (a batch a transport still hands over is ignored).
   */
  async stop(): Promise<void> {
    await this.#scheduler.stop()
    // The follow-up of coalesced calls starts only when the in-flight run ends: wait until neither
    // is left, or a sync would still run (and use the transport) after stop() resolved.
    while (this.#inflight !== undefined || this.#waiting.has('all')) {
      await Promise.allSettled([this.#inflight, this.#waiting.get('all')])
    }
  }

  /**
   * Stops the manager for good, as {@link SyncManager.stop} (so the store may be closed once it
   * resolved). The store and transport stay open: they belong to the caller.
   */
  async close(): Promise<void> {
    await this.stop()
    this.#closed = true
  }

  /**
   * The events refused for good, oldest first: pushed events the remote refused (`by: 'remote'`,
   * sent again only by {@link SyncManager.retryRefusals}) and pulled events the local store
   * refused (`by: 'local'`, retried by every sync). Each was reported as `error` when refused. To
   * fix one, record a corrected copy (a new id) and drop the refused one.
   * @returns the refusals, each with its event, code, message and size in bytes.
   * @throws SyncKitError `closed`, and whatever the store's `getState` throws.
   */
  async refusals(): Promise<readonly Refusal[]> {
    return this.#refusalList('refusals()').list()
  }

  /**
   * Removes an event from the refusal list for good: it is neither retried nor listed any more.
   * @param id - the refused event's id.
   * @returns whether it was listed.
   * @throws SyncKitError `closed`, and whatever the store's `setState` throws.
   */
  dropRefusal(id: string): Promise<boolean> {
    return this.#refusalList('dropRefusal()').drop(id)
  }

  /**
   * Sends the events the remote refused once more (e.g. after its limits were raised), in one
   * `sync()`: those that go through leave the refusal list and count as pushed.
   * @returns the sync's result.
   * @throws SyncKitError as {@link SyncManager.sync}.
   */
  retryRefusals(): Promise<SyncResult> {
    this.#refusalList('retryRefusals()').retry = true
    return this.sync()
  }

  /** True while background sync runs (between `start()` and `stop()`). */
  get isRunning(): boolean {
    return this.#scheduler.running
  }

  /**
   * Runs work as a sync of its own: after the one in flight; calls made meanwhile follow it.
   * @returns what `run` returns, once it did.
   */
  #exclusive<T>(run: (parts: SyncParts) => Promise<T>): Promise<T> {
    const work = (this.#inflight?.catch(() => undefined) ?? Promise.resolve()).then(() =>
      run(this.#parts),
    )
    this.#track(work as Promise<never>).catch(() => undefined)
    return work
  }

  /** Makes `run` the in-flight sync until it settles. */
  #track(run: Promise<SyncResult>): Promise<SyncResult> {
    const tracked: Promise<SyncResult> = run.finally(() => {
      if (this.#inflight === tracked) this.#inflight = undefined
    })
    this.#inflight = tracked
    return tracked
  }

  /**
   * One sync: (after a restart or a failure, check the remote's head), push, then decide carried
   * conflicts and pull, then re-send after an epoch reset or a regression.
   */
  async #run(options: SyncOptions): Promise<SyncResult> {
    const { signal, only, pushUntil: until } = options
    const ctx = this.#ctx
    const parts = this.#parts
    const { epochs } = parts
    const started = ctx.clock.now()
    const push = ctx.direction !== 'pull' && only !== 'pull'
    const pull = ctx.direction !== 'push' && only !== 'push'
    let pushed: number
    let pulled: PullCounts = { pulled: 0, conflicts: 0, resolved: 0 }
    try {
      await parts.causal.init(signal)
      epochs.stored = false
      // A server may have been restored while we could not reach it: before pushing past our
      // checkpoints, compare its head with our cursor (one call, only then).
      // Cleared before the check, not after the run: a stream lost while this run goes on asks
      // the next run to check again.
      if (pull && epochs.probe) {
        epochs.probe = false
        await checkHead(ctx, parts, signal)
      }
      pushed = push ? await pushAll(ctx, parts, signal, until, pull) : 0
      if (pull) {
        // Conflicts a failed or aborted sync detected but did not get to decide come first.
        const carried = await parts.conflicts.decide(signal)
        pulled = await pullAll(ctx, parts, signal)
        pulled.conflicts += carried.conflicts
        pulled.resolved += carried.resolved
        // An epoch change or regression found by either pass: re-send what the remote lacks.
        if (push && epochs.resetPending) {
          epochs.resetPending = false
          pushed += await pushAll(ctx, parts, signal, until)
        }
      }
    } catch (error) {
      epochs.probe = true
      throw error
    }
    const result: SyncResult = {
      pushed,
      ...pulled,
      durationMs: Math.max(0, ctx.clock.now() - started),
    }
    ctx.events.emit('sync', result)
    return result
  }

  /** The refusal list, or `invalid-argument` when the manager was made without it. */
  #refusalList(call: string): Refusals {
    const list = this.#parts.refusals
    if (!('drop' in list)) throw missingFeature(call, 'refusalList')
    return list as Refusals
  }

  #assertOpen(): void {
    if (this.#closed) throw new SyncKitError('closed', '[sync-manager] the manager was closed', {})
  }
}

/** A plain object's shape: not null, not an array. */
function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Checks the input itself: property reads in `record` would turn a missing one into a raw TypeError. */
function checkRecordInput(input: unknown): void {
  if (!isRecord(input)) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [sync-manager] record takes { type, aggregateId, data, metadata?, id? }, got ${describe(input)}`,
      {},
    )
  }
}
