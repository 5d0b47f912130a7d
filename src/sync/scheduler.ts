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

  /**
   * @param ctx - the interval, backoff, random source, timers, transport, filters and `live`;
   * failures are emitted there as `error`.
   * @param sync - one sync (the manager's coalescing `sync()`).
   */
  constructor(ctx: SyncContext, sync: () => Promise<unknown>) {
    this.#ctx = ctx
    this.#sync = sync
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
    try {
      const sub = await subscribe(
        () => {
          if (this.#running) void this.#sync().catch(onError)
        },
        { ...(ctx.filters ? { filters: ctx.filters } : {}), onError, signal: attempt.signal },
      )
      if (this.#running && !attempt.signal.aborted) this.#subscription = sub
      else await sub.unsubscribe()
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
