/**
 * Live mode, the `liveMode()` feature: after `start()`, a subscription to the remote whose batches
 * are stored as they come when they continue the pull checkpoint (else a sync pulls them),
 * re-subscribing with the scheduler's backoff when subscribing fails, and each `record()` pushed
 * soon by a push run that the records made while one waits share. Without it, a started manager
 * syncs on its interval only.
 *
 * A live subscription that reports a failure (`onError`) may have ended for good — a stream
 * refused, or resumed into a new epoch of the remote — so it is replaced rather than left to the
 * transport to reconnect: it is ended, a sync runs soon (which notices an epoch change and pulls
 * what the stream missed), and a new subscription follows that good sync. While streams keep
 * failing, the sync waits the scheduler's backoff (reset by a delivered batch). `stop()` aborts a
 * `subscribe` still in flight through its signal. While the stream stores batches, the interval's
 * sync only pushes ({@link LiveMode.covered}).
 *
 * @module
 */
import type { EventWithVersion, LiveBatchInfo, Subscription } from '../types/index.js'
import { type SyncFeature, defineFeature } from './feature.js'
import { ingest, remotePage } from './pull-pass.js'
import type { Scheduler } from './scheduler.js'
import type { PullCounts, SyncContext, SyncParts } from './sync-options.js'

/**
 * Live mode: after `start()`, the manager also subscribes to the remote (through the transport's
 * `subscribe`) and stores what it delivers as it comes (batches that tell their position and
 * continue the pull checkpoint; any other batch starts a sync); a failed stream is replaced after
 * a good sync. Each `record()` is pushed soon, without a `sync()` call: one push run
 * (`sync({ only: 'push' })`) is shared by the records made while it waits. Transports without
 * `subscribe` sync on the interval only (records are still pushed as they are made).
 * @returns the feature, for the manager's `features` option.
 * @example
 * ```ts
 * import { SyncManager, liveMode } from 'sync-kit'
 *
 * const manager = new SyncManager({ store, transport, nodeId: 'phone', features: [liveMode()] })
 * manager.start()
 * ```
 */
export function liveMode(): SyncFeature {
  return defineFeature('live', (slots) => {
    slots.makeLive = (scheduler) => new LiveMode(scheduler)
  })
}

/** The live subscription of one scheduler. */
export class LiveMode {
  readonly #scheduler: Scheduler
  #subscription: Subscription | undefined
  #subscribing = false
  /** Aborts the subscribe in flight (and the backoff wait between attempts) on `stop()`. */
  #stopSubscribing: AbortController | undefined
  /** Live streams that failed in a row (a delivered batch resets it). */
  #streamFailures = 0
  /** The push run the last `record()` joined (its failure is reported once, by the first). */
  #pushing: Promise<unknown> | undefined
  /** A batch was stored as it came since the last {@link LiveMode.covered} call. */
  #stored = false

  /** @param scheduler - the scheduler it belongs to. */
  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler
  }

  /**
   * A local event was recorded: while running, pushes it soon — one shared push run for all the
   * records made while one waits (`sync({ only: 'push' })`), so a live replica's edits reach the
   * remote (and, through its stream, the other replicas) without the app calling `sync()`.
   */
  recorded(): void {
    const scheduler = this.#scheduler
    const { ctx } = scheduler
    if (!scheduler.running || ctx.direction === 'pull') return
    const run = scheduler.sync('push')
    // Records made while one push run waits share it: its failure is reported once.
    if (run === this.#pushing) return
    this.#pushing = run
    run.catch((error: unknown) => ctx.events.emit('error', error))
  }

  /**
   * Tells the interval's sync whether the stream pulled for it: a live subscription is open and
   * stored a batch since the last call. Then that sync pushes only — its pull would fetch events
   * the stream is delivering, and a replica that fell behind fetched each one twice (at 100 live
   * clients, 445 k of 2.9 M deliveries). A stream that stored nothing in an interval (a quiet
   * remote, or a stream that died without a word) gets the interval's pull, as without live mode;
   * so does a replica whose refusal list holds pulled events its store refused (the pull pass
   * retries them).
   * @returns true when the interval's sync may skip its pull.
   */
  covered(): boolean {
    const stored = this.#stored
    this.#stored = false
    return stored && this.#subscription !== undefined
  }

  /** Subscribes, unless a subscription is there or on its way (after `start()`, a good sync). */
  resume(): void {
    void this.#subscribe()
  }

  /**
   * Ends the subscription and aborts a subscribe in flight.
   * @returns when the subscription has ended.
   */
  async stop(): Promise<void> {
    this.#stopSubscribing?.abort()
    this.#stopSubscribing = undefined
    const sub = this.#subscription
    this.#subscription = undefined
    await sub?.unsubscribe().catch(() => undefined)
  }

  /** Ends a failed stream, and syncs after the stream backoff; a good sync subscribes again. */
  #replace(sub?: Subscription): void {
    if (sub !== undefined) {
      this.#subscription = undefined
      void sub.unsubscribe().catch(() => undefined)
    }
    this.#scheduler.schedule(this.#scheduler.delay(++this.#streamFailures))
  }

  /**
   * A delivered batch: stored as it comes when it continues the pull checkpoint (awaited, so the
   * transport holds the next batch back meanwhile), else left to a sync's pull.
   */
  async #deliver(events: readonly EventWithVersion[], info?: LiveBatchInfo): Promise<void> {
    const scheduler = this.#scheduler
    const { ctx, exclusive } = scheduler
    this.#streamFailures = 0
    if (!scheduler.running) return
    if (info !== undefined && exclusive !== undefined && ctx.attach === undefined) {
      const started = ctx.clock.now()
      let counts: PullCounts | undefined
      let refusedWait = false
      try {
        counts = await exclusive(async (parts) => {
          const stored = await storeLiveBatch(ctx, parts, events, info)
          // Pulled events the local store refused are retried by a pull pass only (first thing
          // it does): while any is listed, the interval's sync keeps pulling.
          refusedWait = (await parts.refusals.list()).some((r) => r.by === 'local')
          return stored
        })
      } catch (error) {
        ctx.events.emit('error', error)
      }
      if (counts !== undefined) {
        this.#stored = !refusedWait
        // Reported as the sync a notification used to start would be.
        const durationMs = Math.max(0, ctx.clock.now() - started)
        ctx.events.emit('sync', { pushed: 0, ...counts, durationMs })
        return
      }
    }
    if (scheduler.running)
      void scheduler.sync().catch((error: unknown) => ctx.events.emit('error', error))
  }

  async #subscribe(): Promise<void> {
    const scheduler = this.#scheduler
    const { ctx } = scheduler
    const subscribe = ctx.transport.subscribe?.bind(ctx.transport)
    if (subscribe === undefined || this.#subscribing || this.#subscription !== undefined) return
    this.#subscribing = true
    const onError = (error: unknown): void => ctx.events.emit('error', error)
    let attempt = 0
    try {
      while (scheduler.running && this.#subscription === undefined) {
        // A fresh controller after a stop(): a start() that followed gets attempts of its own.
        const stopping = (this.#stopSubscribing ??= new AbortController())
        let sub: Subscription | undefined
        let failed = false
        const onStreamError = (error: unknown): void => {
          onError(error)
          if (failed) return
          failed = true
          scheduler.lost()
          if (sub !== undefined && this.#subscription === sub) this.#replace(sub)
        }
        try {
          sub = await subscribe((events, info) => this.#deliver(events, info), {
            ...(ctx.filters ? { filters: ctx.filters } : {}),
            onError: onStreamError,
            signal: stopping.signal,
          })
          if (!scheduler.running || stopping.signal.aborted || failed) {
            await sub.unsubscribe()
            if (failed) return this.#replace()
            // A start() during that wait found this attempt still running and left the live
            // subscription to it: the loop condition checks again.
            continue
          }
          this.#subscription = sub
          // The stream starts at the remote's head when it opened: what was stored between the
          // last pull and then would wait for the interval. One sync covers that gap.
          void scheduler.sync().catch(onError)
        } catch (error) {
          // An attempt abandoned by stop() (e.g. its transport closed since) is not a failure.
          if (!scheduler.running) return
          if (stopping.signal.aborted) continue
          onError(error)
          attempt++
          await new Promise<void>((resolve) => {
            ctx.timers.setTimeout(resolve, scheduler.delay(attempt))
          })
        }
      }
    } finally {
      this.#subscribing = false
    }
  }
}

/**
 * Tells whether a live batch starts the remote's log (the part the manager's filters match): the
 * first event a pull from the beginning returns is the batch's first, in the batch's epoch. So a
 * replica that has pulled nothing yet — its first pull found an empty server — stores the batches
 * of a stream opened on the empty log as they come, instead of pulling what the stream delivers
 * (at 100 live clients starting on an empty server, each chased the writers by pull).
 * @returns false also when the pull fails (a sync then pulls the batch).
 */
async function startsLog(
  ctx: SyncContext,
  events: readonly EventWithVersion[],
  info: LiveBatchInfo,
): Promise<boolean> {
  const first = events[0]
  if (first === undefined) return false
  try {
    const page = await ctx.transport.pull(null, {
      limit: 1,
      ...(ctx.filters ? { filters: ctx.filters } : {}),
    })
    return page.epoch === info.epoch && page.events[0]?.version.compare(first.version) === 0
  } catch {
    return false
  }
}

/**
 * Stores a live batch as a pull page that came by itself, when it continues the pull checkpoint:
 * same epoch, and the batch follows a version at or before the checkpoint (so no event between
 * the two is missing). The events at or before the checkpoint are dropped; the rest are stored,
 * checkpointed and taken into account exactly as the pull pass does (`ingest`). Without a
 * checkpoint, a batch that starts the remote's log ({@link startsLog}) is stored whole. Anything
 * else — no checkpoint yet and a batch that does not start the log, another epoch, a gap (a
 * dropped or reordered batch, a stream that started past the checkpoint), a head check pending
 * after a failure — is left to a pull.
 * @param ctx - the store, transport and checkpoint keys.
 * @param parts - the causal state, conflict queue and holds record the page updates.
 * @param events - the batch.
 * @param info - its epoch and the version it follows.
 * @returns the counts, or `undefined` when a pull must fetch the batch instead.
 */
async function storeLiveBatch(
  ctx: SyncContext,
  parts: SyncParts,
  events: readonly EventWithVersion[],
  info: LiveBatchInfo,
): Promise<PullCounts | undefined> {
  // A sync failed or a stream was lost since the last look at the remote's head (`probe`): it
  // may have been restored from a backup, and a batch that follows the checkpoint would move it
  // past the events written since. The sync compares the head first.
  if (ctx.direction === 'push' || parts.epochs.probe) return undefined
  await parts.causal.init(undefined)
  const cp = await ctx.store.getCheckpoint(ctx.pullKey)
  let fresh = events
  if (cp === undefined) {
    // Nothing pulled yet (the log was empty): the batch is stored when it starts the log.
    if (!(await startsLog(ctx, events, info))) return undefined
  } else {
    if (cp.epoch !== info.epoch) return undefined
    const checkpoint = ctx.transport.parseVersion(cp.version)
    if (info.after.compare(checkpoint) > 0) return undefined
    fresh = events.filter((item) => item.version.compare(checkpoint) > 0)
  }
  const totals: PullCounts = { pulled: 0, conflicts: 0, resolved: 0 }
  if (fresh.length === 0) return totals
  // Stopped at an event the store refused (no refusal list): the next pull fetches the rest.
  const partial = await ingest(
    ctx,
    parts,
    totals,
    fresh.map((item) => item.event),
    undefined,
    remotePage(fresh, info.epoch, true),
  )
  return partial ? undefined : totals
}
