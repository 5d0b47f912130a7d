/**
 * Background sync after `start()`: one sync now, then one every `intervalMs` (push only while a
 * live stream stores what the pull would fetch); after a failure,
 * retries with exponential backoff and full jitter (`core/backoff`). Errors are emitted as
 * `error`, never thrown. With the `liveMode()` feature, also the live subscription (`live-mode`),
 * which this scheduler starts, resumes after a good sync and stops.
 *
 * Retry layers (docs/protocol.md, "One retry layer per path"): a transport retries one call —
 * the HTTP client a request, or a `subscribe` until the server accepts the stream, and an
 * accepted stream reconnects itself. This scheduler retries what the transport gave up on, with
 * backoff between whole attempts: syncs, and (live mode) subscriptions.
 *
 * @module
 */
import { backoffDelay } from '../core/backoff.js'
import type { LiveMode } from './live-mode.js'
import type { SyncContext, SyncParts } from './sync-options.js'

/** Runs work as one of the manager's syncs (after the one in flight), with the manager's parts. */
export type Exclusive = <T>(run: (parts: SyncParts) => Promise<T>) => Promise<T>

/** Runs `sync` on a timer (and, in live mode, on the remote's live notifications). */
export class Scheduler {
  /** The context: interval, backoff, random source, timers; failures are emitted there. */
  readonly ctx: SyncContext
  /** One sync (the manager's coalescing `sync()`), or one push or pull (`sync({ only })`). */
  readonly sync: (only?: 'push' | 'pull') => Promise<unknown>
  /** Called when the live stream failed (the remote may have been restored). */
  readonly lost: () => void
  /** The live subscription, with the `liveMode()` feature. */
  readonly live: LiveMode | undefined
  /** Runs work between the manager's syncs (`undefined`: the manager offers none). */
  readonly exclusive: Exclusive | undefined
  #running = false
  #failures = 0
  #timer: unknown

  /**
   * @param ctx - the interval, backoff, random source, timers, and the `liveMode()` slot;
   * failures are emitted there as `error`.
   * @param sync - one sync (the manager's coalescing `sync()`), or with `only` its shared
   * `sync({ only })`.
   * @param lost - called when the live stream failed (the remote may have been restored).
   * @param exclusive - runs work between the manager's syncs (live batches are stored with it).
   */
  constructor(
    ctx: SyncContext,
    sync: (only?: 'push' | 'pull') => Promise<unknown>,
    lost: () => void = () => undefined,
    exclusive?: Exclusive,
  ) {
    this.ctx = ctx
    this.sync = sync
    this.lost = lost
    this.exclusive = exclusive
    this.live = ctx.makeLive?.(this)
  }

  /** True between {@link Scheduler.start} and {@link Scheduler.stop}. */
  get running(): boolean {
    return this.#running
  }

  /** Starts: a sync now, then on the interval; in live mode, the subscription too. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#failures = 0
    this.schedule(0)
    this.live?.resume()
  }

  /**
   * Stops the timer and ends the live subscription. A sync already running is not waited for.
   * @returns when the subscription has ended.
   */
  async stop(): Promise<void> {
    this.#running = false
    if (this.#timer !== undefined) this.ctx.timers.clearTimeout(this.#timer)
    this.#timer = undefined
    await this.live?.stop()
  }

  /**
   * Runs a sync after `ms` (replacing the one scheduled), while running.
   * @param ms - the wait.
   */
  schedule(ms: number): void {
    if (!this.#running) return
    if (this.#timer !== undefined) this.ctx.timers.clearTimeout(this.#timer)
    this.#timer = this.ctx.timers.setTimeout(() => {
      this.#timer = undefined
      void this.#tick()
    }, ms)
  }

  /**
   * The backoff wait before retry `attempt`.
   * @param attempt - 1 for the first retry.
   * @returns the wait in ms.
   */
  delay(attempt: number): number {
    return backoffDelay(attempt, this.ctx.backoff, this.ctx.random)
  }

  async #tick(): Promise<void> {
    if (!this.#running) return
    try {
      // In live mode, a stream that stored batches since the last tick pulled for this one.
      await this.sync(this.live?.covered() ? 'push' : undefined)
      this.#failures = 0
      this.schedule(this.ctx.intervalMs)
      // After a failed stream was replaced, a good sync subscribes again.
      this.live?.resume()
    } catch (error) {
      this.#failures++
      this.ctx.events.emit('error', error)
      this.schedule(this.delay(this.#failures))
    }
  }
}
