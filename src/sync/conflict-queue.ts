/**
 * The conflicts detected but not decided yet, oldest first, and their decision: each is handed to
 * the resolver, the events it returns are stored and observed, and the report is emitted as
 * `conflict`. A conflict leaves the queue once decided (or once its resolver failed, which is
 * reported as `error`); when the sync is aborted or the store fails while one is decided, it and
 * the rest stay queued for the next sync rather than being lost.
 *
 * With the `durableConflicts()` feature (`durable-conflicts`) the queue also survives a restart:
 * it is saved before the first decision after new conflicts were queued, and after each round of
 * decisions, and a new manager decides the saved conflicts first. Without it the queue is kept in
 * memory: a restart forgets undecided conflicts, never their events.
 *
 * @module
 */
import { signalOptions } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Conflict, EventWithVersion, ResolvedConflict } from '../types/index.js'
import type { CausalTracker } from './causal-tracker.js'
import { changedFields } from './changed-fields.js'
import { isRefusal } from './refusal.js'
import type { SyncContext } from './sync-options.js'

/** Counts of one round of decisions. */
export interface DecidedCounts {
  /** Conflicts taken off the queue. */
  conflicts: number
  /** Of those, the ones decided (any decision but `defer`). */
  resolved: number
}

/** A queued conflict: the local head and the stored event concurrent with it. */
export type PendingConflict = readonly [EventWithVersion, EventWithVersion]

/** Where a queue is kept across restarts: the `durableConflicts()` feature. */
export interface ConflictStorage {
  /**
   * Reads the queue an earlier manager saved.
   * @param ctx - the store and the remote's name.
   * @param signal - cancels.
   * @returns the saved conflicts, oldest first.
   */
  load(ctx: SyncContext, signal: AbortSignal | undefined): Promise<PendingConflict[]>
  /**
   * Saves the queue.
   * @param ctx - the store and the remote's name.
   * @param pending - the undecided conflicts, oldest first.
   * @param signal - cancels.
   */
  save(
    ctx: SyncContext,
    pending: readonly PendingConflict[],
    signal: AbortSignal | undefined,
  ): Promise<void>
}

/** Undecided conflicts, `[local head, remote event]`, and the deciding of them. */
export class ConflictQueue {
  readonly #ctx: SyncContext
  readonly #causal: CausalTracker
  readonly #pending: PendingConflict[] = []
  #loaded = false
  #dirty = false

  /**
   * @param ctx - the resolver, the store and the node id; `conflict` and `error` are emitted there.
   * @param causal - observes the events resolutions add.
   */
  constructor(ctx: SyncContext, causal: CausalTracker) {
    this.#ctx = ctx
    this.#causal = causal
  }

  /**
   * Queues a conflict.
   * @param local - the local head.
   * @param remote - the stored event concurrent with it.
   */
  add(local: EventWithVersion, remote: EventWithVersion): void {
    this.#pending.push([local, remote])
    this.#dirty = true
  }

  /**
   * Decides the queued conflicts, oldest first.
   * @param signal - cancels; the conflict being decided and the rest stay queued.
   * @returns how many were taken off the queue and how many of those were decided.
   * @throws SyncKitError `aborted`, and whatever the store throws (the queue keeps the rest).
   */
  async decide(signal: AbortSignal | undefined): Promise<DecidedCounts> {
    const storage = this.#ctx.conflictStorage
    if (!this.#loaded && storage !== undefined) {
      // Conflicts saved by an earlier manager are older than any queued since: they come first.
      this.#pending.unshift(...(await storage.load(this.#ctx, signal)))
    }
    this.#loaded = true
    if (this.#dirty) await this.#save(signal)
    let conflicts = 0
    let resolved = 0
    try {
      // By index, and the decided ones dropped once at the end: shifting one at a time costs a
      // copy of the whole queue per conflict (quadratic in a burst of conflicts).
      for (;;) {
        const next = this.#pending[conflicts]
        if (next === undefined) break
        if (await this.#resolve(next[0], next[1], signal)) resolved++
        conflicts++
      }
    } finally {
      this.#pending.splice(0, conflicts)
      // Without the signal: the decisions made before an abort must be kept too.
      if (conflicts > 0) await this.#save(undefined)
    }
    return { conflicts, resolved }
  }

  async #save(signal: AbortSignal | undefined): Promise<void> {
    this.#dirty = false
    await this.#ctx.conflictStorage?.save(this.#ctx, this.#pending, signal)
  }

  async #resolve(
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
        detectedBy: this.#ctx.nodeId,
      },
      local,
      remote,
    }
    const opts = signalOptions(signal)
    let resolution: ResolvedConflict
    try {
      resolution = await this.#ctx.resolver.resolve(conflict, opts)
      // A broken resolution (none, no events array, an event that is not an object) fails here,
      // as a resolver that throws does: it must not stop every later sync.
      if (resolution?.resolvedEvents?.some((e) => typeof e?.id !== 'string') !== false) {
        throw new TypeError('not a resolution')
      }
    } catch (cause) {
      if (isSyncKitError(cause, 'aborted')) throw cause
      this.#failed(conflict, 'resolver failed', cause)
      return false
    }
    try {
      for (const event of resolution.resolvedEvents) {
        if (event.id === local.event.id || event.id === remote.event.id) continue
        const result = await this.#ctx.store.store(event, opts)
        if (!result.duplicate) this.#causal.observe({ event, version: result.version })
      }
    } catch (cause) {
      // An event the store refuses is a broken resolution, not a broken sync.
      if (!isRefusal(cause)) throw cause
      this.#failed(
        conflict,
        'the resolver returned an event the store refuses,',
        cause,
        '; resolved events must be valid and have ids of their own',
      )
      return false
    }
    this.#ctx.events.emit('conflict', { conflict, resolution })
    return resolution.decision !== 'defer'
  }

  #failed(conflict: Conflict, what: string, cause: unknown, advice = ''): void {
    const { aggregateId } = conflict
    this.#ctx.events.emit(
      'error',
      new SyncKitError(
        'resolver-failed',
        `[sync-manager] ${what} on aggregate "${aggregateId}"${advice}`,
        { aggregateId },
        { cause },
      ),
    )
  }
}
