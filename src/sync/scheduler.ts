/**
 * Background sync after `start()`: one sync now, then one every `intervalMs`; after a failure,
 * retries with exponential backoff and full jitter (`core/backoff`); with `live`, also a
 * subscription to the remote that syncs as soon as it reports new events. Errors are emitted as
 * `error`, never thrown.
 *
 * One retry layer per path: a transport retries its own calls (the HTTP client retries a request,
 * and its stream reconnects itself once established); this scheduler retries whole syncs with
 * backoff. A failed `subscribe` is therefore not retried in a loop of its own — it is tried again
 * after the next successful sync, so re-subscribing follows the sync schedule (and its backoff
 * while the remote is down) instead of stacking a second backoff on the transport's.
 *
 * A live subscription that reports a failure (`onError`) may have ended for good — a stream
 * refused, or resumed into a new epoch of the remote — so the scheduler replaces it rather than
 * waiting for the transport to reconnect it: it ends it, runs a sync soon (which notices an epoch
 * change and pulls what the stream missed), and subscribes again after that good sync. While
 * streams keep failing, the sync waits the scheduler's backoff (reset by a delivered batch).
 *
 * @module
 */
import { backoffDelay } from '../core/backoff.js'
import type { Subscription } from '../types/index.js'
import type { SyncContext } from './sync-options.js'

/** Runs `sync` on a timer, and on the remote's live notifications. */
export class Scheduler {
  readonly #ctx: SyncContext
  readonly #sync: () => Promise<unknown>
  #running = false
  #failures = 0
  #timer: unknown
  #subscription: Subscription | undefined
  #subscribing: AbortController | undefined
  readonly #lost: () => void
  #streamFailures = 0

  /**
   * @param ctx - the interval, backoff, random source, timers, transport, filters and `live`;
   * failures are emitted there as `error`.
   * @param sync - one sync (the manager's coalescing `sync()`).
   * @param lost - called when the live stream failed (the remote may have been restored).
   */
  constructor(ctx: SyncContext, sync: () => Promise<unknown>, lost: () => void = () => undefined) {
    this.#ctx = ctx
    this.#sync = sync
    this.#lost = lost
  }

  /** True between {@link Scheduler.start} and {@link Scheduler.stop}. */
  get running(): boolean {
    return this.#running
  }

  /** Starts: a sync now, then on the interval; with `live`, the subscription too. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#failures = 0
    this.#schedule(0)
    if (this.#ctx.live) void this.#subscribeLive()
  }

  /**
   * Stops the timer and ends the live subscription. A sync already running is not waited for.
   * @returns when the subscription has ended.
   */
  async stop(): Promise<void> {
    this.#running = false
    if (this.#timer !== undefined) this.#ctx.timers.clearTimeout(this.#timer)
    this.#timer = undefined
    // A subscribe still running (e.g. retrying inside the transport) stops with the manager.
    this.#subscribing?.abort()
    const sub = this.#subscription
    this.#subscription = undefined
    await sub?.unsubscribe().catch(() => undefined)
  }

  #schedule(ms: number): void {
    if (!this.#running) return
    if (this.#timer !== undefined) this.#ctx.timers.clearTimeout(this.#timer)
    this.#timer = this.#ctx.timers.setTimeout(() => {
      this.#timer = undefined
      void this.#tick()
    }, ms)
  }

  async #tick(): Promise<void> {
    if (!this.#running) return
    try {
      await this.#sync()
      this.#failures = 0
      this.#schedule(this.#ctx.intervalMs)
      if (this.#ctx.live) void this.#subscribeLive()
    } catch (error) {
      this.#failures++
      this.#ctx.events.emit('error', error)
      this.#schedule(this.#delay(this.#failures))
    }
  }

  /** Ends a failed stream, and syncs after the stream backoff; a good sync subscribes again. */
  #replace(sub?: Subscription): void {
    if (sub !== undefined) {
      this.#subscription = undefined
      void sub.unsubscribe().catch(() => undefined)
    }
    this.#schedule(this.#delay(++this.#streamFailures))
  }

  #delay(attempt: number): number {
    return backoffDelay(attempt, this.#ctx.backoff, this.#ctx.random)
  }

  /** One attempt to subscribe; a failure is reported and tried again after the next good sync. */
  async #subscribeLive(): Promise<void> {
    const ctx = this.#ctx
    const subscribe = ctx.transport.subscribe?.bind(ctx.transport)
    if (subscribe === undefined || this.#subscribing || this.#subscription) return
    const attempt = new AbortController()
    this.#subscribing = attempt
    const onError = (error: unknown): void => ctx.events.emit('error', error)
    let sub: Subscription | undefined
    let failed = false
    const onStreamError = (error: unknown): void => {
      onError(error)
      if (failed) return
      failed = true
      this.#lost()
      if (sub !== undefined && this.#subscription === sub) this.#replace(sub)
    }
    try {
      sub = await subscribe(
        () => {
          this.#streamFailures = 0
          if (this.#running) void this.#sync().catch(onError)
        },
        {
          ...(ctx.filters ? { filters: ctx.filters } : {}),
          onError: onStreamError,
          signal: attempt.signal,
        },
      )
      if (this.#running && !attempt.signal.aborted && !failed) this.#subscription = sub
      else {
        await sub.unsubscribe()
        if (failed) this.#replace()
      }
    } catch (error) {
      // An attempt abandoned by stop() (e.g. its transport closed since) is not a failure.
      if (this.#running && !attempt.signal.aborted) onError(error)
    } finally {
      if (this.#subscribing === attempt) this.#subscribing = undefined
    }
    // A start() while this attempt was abandoned by stop() wants its own subscription.
    if (this.#running && ctx.live && !this.#subscription && attempt.signal.aborted) {
      void this.#subscribeLive()
    }
  }
}
