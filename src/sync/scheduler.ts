/**
 * Background sync after `start()`: one sync now, then one every `intervalMs`; after a failure,
 * retries with exponential backoff and full jitter (`core/backoff`); with `live`, also a
 * subscription to the remote that syncs as soon as it reports new events (re-subscribing with the
 * same backoff when subscribing fails). Errors are emitted as `error`, never thrown.
 *
 * Retry layers (docs/protocol.md, "One retry layer per path"): a transport retries one call —
 * the HTTP client a request, or a `subscribe` until the server accepts the stream, and an
 * accepted stream reconnects itself. This scheduler retries what the transport gave up on, with
 * backoff between whole attempts: syncs, and subscriptions. `stop()` aborts a `subscribe` still
 * in flight through its signal.
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
  #subscribing = false
  /** Aborts the subscribe in flight (and the backoff wait between attempts) on `stop()`. */
  #stopSubscribing: AbortController | undefined
  readonly #lost: () => void
  /** Live streams that failed in a row (a delivered batch resets it). */
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
    this.#stopSubscribing?.abort()
    this.#stopSubscribing = undefined
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
      // After a failed stream was replaced, a good sync subscribes again.
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

  async #subscribeLive(): Promise<void> {
    const ctx = this.#ctx
    const subscribe = ctx.transport.subscribe?.bind(ctx.transport)
    if (subscribe === undefined || this.#subscribing || this.#subscription !== undefined) return
    this.#subscribing = true
    const onError = (error: unknown): void => ctx.events.emit('error', error)
    let attempt = 0
    try {
      while (this.#running && this.#subscription === undefined) {
        // A fresh controller after a stop(): a start() that followed gets attempts of its own.
        const stopping = (this.#stopSubscribing ??= new AbortController())
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
              signal: stopping.signal,
            },
          )
          if (!this.#running || stopping.signal.aborted || failed) {
            await sub.unsubscribe()
            if (failed) return this.#replace()
            // A start() during that wait found this attempt still running and left the live
            // subscription to it: the loop condition checks again.
            continue
          }
          this.#subscription = sub
        } catch (error) {
          // An attempt abandoned by stop() (e.g. its transport closed since) is not a failure.
          if (!this.#running) return
          if (stopping.signal.aborted) continue
          onError(error)
          attempt++
          await new Promise<void>((resolve) => {
            ctx.timers.setTimeout(resolve, this.#delay(attempt))
          })
        }
      }
    } finally {
      this.#subscribing = false
    }
  }
}
