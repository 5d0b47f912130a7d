import type { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Timers } from '../../types/index.js'
import { limitReached } from './sync-handler-errors.js'

/** `Retry-After` of a push refused for want of body budget, in seconds. */
const BUDGET_RETRY_AFTER_SECONDS = 1

/** One request's share of a {@link BodyBudget}: what it holds, released once it is done. */
export interface BodyLease {
  /**
   * Takes `bytes` more for this request: at once while the budget has room (returns
   * `undefined`), else a promise that resolves once it has (older requests first), or rejects
   * with `unavailable` after the budget's wait, or at once when every request holding bytes is
   * waiting (the youngest of them gives way, so the budget never deadlocks).
   * @param bytes - the size of the next chunk, already in memory.
   * @returns `undefined`, or a promise to await before reading on.
   */
  take(bytes: number): Promise<void> | undefined
  /** Gives back everything this request holds, and fails its wait, if any. Idempotent. */
  release(): void
}

interface Waiter {
  readonly lease: Lease
  readonly bytes: number
  readonly resolve: () => void
  readonly reject: (error: SyncKitError) => void
  readonly timer: unknown
}

interface Lease extends BodyLease {
  /** Arrival order: older requests are served first and give way last. */
  readonly order: number
  held: number
  waiting: Waiter | undefined
}

/**
 * A global budget of request-body bytes held in memory at once, across every concurrent push:
 * bounds the memory a server spends on bodies, whatever their number. A request takes bytes as
 * its (decompressed) body arrives and holds them until it was answered; a request that would
 * pass the budget waits (reading nothing more, so its client is held back by TCP) for up to
 * `waitMs`, then is refused with 503 `unavailable` and `Retry-After`.
 */
export class BodyBudget {
  readonly #limit: number
  readonly #waitMs: number
  readonly #timers: Timers
  #used = 0
  #next = 0
  readonly #holders = new Set<Lease>()
  /** Waiting takes, oldest request first. */
  readonly #queue: Waiter[] = []

  /**
   * @param limitBytes - the most bytes held at once.
   * @param waitMs - how long a request waits for room before it is refused.
   * @param timers - for the waits.
   */
  constructor(limitBytes: number, waitMs: number, timers: Timers) {
    this.#limit = limitBytes
    this.#waitMs = waitMs
    this.#timers = timers
  }

  /** The most bytes held at once. */
  get limit(): number {
    return this.#limit
  }

  /** Bytes held now, by every request. */
  get used(): number {
    return this.#used
  }

  /**
   * Opens the share of one request.
   * @returns the lease; release it once the request was answered.
   */
  open(): BodyLease {
    const lease: Lease = {
      order: this.#next++,
      held: 0,
      waiting: undefined,
      take: (bytes) => this.#take(lease, bytes),
      release: () => this.#release(lease),
    }
    return lease
  }

  #take(lease: Lease, bytes: number): Promise<void> | undefined {
    if (this.#queue.length === 0 && this.#used + bytes <= this.#limit) {
      this.#grant(lease, bytes)
      return undefined
    }
    return new Promise<void>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        this.#release(lease, `no room in the body budget within ${this.#waitMs} ms`)
      }, this.#waitMs)
      const waiter: Waiter = { lease, bytes, resolve, reject, timer }
      lease.waiting = waiter
      const at = this.#queue.findIndex((other) => other.lease.order > lease.order)
      if (at === -1) this.#queue.push(waiter)
      else this.#queue.splice(at, 0, waiter)
      this.#drain()
    })
  }

  #grant(lease: Lease, bytes: number): void {
    this.#used += bytes
    lease.held += bytes
    this.#holders.add(lease)
  }

  /** Serves the queue in order while the head fits; breaks a standstill. */
  #drain(): void {
    for (;;) {
      const head = this.#queue[0]
      if (head !== undefined && this.#used + head.bytes <= this.#limit) {
        this.#queue.shift()
        this.#timers.clearTimeout(head.timer)
        head.lease.waiting = undefined
        this.#grant(head.lease, head.bytes)
        head.resolve()
        continue
      }
      if (head === undefined || !this.#stalled()) return
      // Every request holding bytes waits for more: none will ever release. The youngest of
      // them gives way (503, its client retries), so the older ones can finish.
      let youngest: Lease | undefined
      for (const holder of this.#holders) {
        if (youngest === undefined || holder.order > youngest.order) youngest = holder
      }
      if (youngest === undefined) return
      this.#release(youngest, 'every push holding the body budget was waiting for more')
    }
  }

  /** True when every request holding bytes waits: nothing would ever be released. */
  #stalled(): boolean {
    if (this.#holders.size === 0) return false
    for (const holder of this.#holders) if (holder.waiting === undefined) return false
    return true
  }

  #release(lease: Lease, why = 'the request ended while it waited'): void {
    const waiter = lease.waiting
    if (waiter !== undefined) {
      lease.waiting = undefined
      this.#timers.clearTimeout(waiter.timer)
      this.#queue.splice(this.#queue.indexOf(waiter), 1)
    }
    this.#used -= lease.held
    lease.held = 0
    this.#holders.delete(lease)
    waiter?.reject(
      limitReached(
        `the server holds as many push bodies as its memory budget allows (${this.#limit} bytes; ${why}); retry in a moment`,
        BUDGET_RETRY_AFTER_SECONDS,
      ),
    )
    this.#drain()
  }
}
