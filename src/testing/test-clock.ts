import type { Clock } from '../types/index.js'

interface Timer {
  readonly id: number
  readonly at: number
  readonly fn: () => void
}

/**
 * A manual clock for deterministic tests: time moves only when the test says so, and timers
 * scheduled on it fire in order as time advances.
 *
 * Pass it wherever sync-kit takes a `clock` (and its `setTimeout`/`clearTimeout` where a
 * component takes timers), then drive time with {@link TestClock.advance}.
 *
 * @example
 * ```ts
 * import { TestClock } from 'sync-kit/testing'
 *
 * const clock = new TestClock(1_700_000_000_000)
 * clock.setTimeout(() => console.log('fired'), 1000)
 * await clock.advance(1000) // logs 'fired'
 * ```
 */
export class TestClock implements Clock {
  private current: number
  private timers: Timer[] = []
  private nextId = 1

  /**
   * Creates a clock.
   * @param startMs - the initial time in ms since the Unix epoch.
   * @defaultValue startMs 0
   */
  constructor(startMs = 0) {
    this.current = startMs
  }

  /** The current time in ms. */
  now(): number {
    return this.current
  }

  /**
   * Sets the time without firing timers, e.g. to simulate a wall clock that steps back.
   * @param ms - the new time in ms.
   */
  set(ms: number): void {
    this.current = ms
  }

  /**
   * Schedules `fn` after `ms` milliseconds of this clock's time.
   * @returns a handle for {@link TestClock.clearTimeout}.
   */
  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++
    this.timers.push({ id, at: this.current + Math.max(0, ms), fn })
    return id
  }

  /** Cancels a timer scheduled with {@link TestClock.setTimeout}. */
  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== handle)
  }

  /** Number of timers still pending. */
  get pendingTimers(): number {
    return this.timers.length
  }

  /**
   * Moves time forward by `ms`, firing due timers in time order and letting promises settle
   * between them.
   * @param ms - how far to move, in ms (≥ 0).
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms)
    for (;;) {
      await flushMicrotasks()
      const due = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (due === undefined) break
      this.timers = this.timers.filter((t) => t !== due)
      this.current = Math.max(this.current, due.at)
      due.fn()
    }
    this.current = target
    await flushMicrotasks()
  }

  /**
   * Advances time, timer by timer, until `promise` settles: for code under test that waits on
   * this clock's timers several times in a row, each timer scheduled only once the previous wait
   * is over (e.g. a `sync()` through a test hub with latency: every call of the sync waits for its
   * own timer). `runAll` cannot do that: it stops as soon as no timer is pending, before the next
   * one is scheduled.
   * @typeParam T - what the promise resolves to.
   * @param promise - the work to drive, already started.
   * @param limit - most timers to fire before giving up. @defaultValue 100 000
   * @returns what `promise` resolves to; rejects as it rejects.
   * @throws Error when `limit` timers fired, or when no timer is pending for 50 macrotask turns
   * in a row while the promise is still pending (it waits on something this clock does not drive).
   * @example
   * ```ts
   * import { SyncManager, createMemoryStore } from 'sync-kit'
   * import { TestClock, createTestHub } from 'sync-kit/testing'
   *
   * const clock = new TestClock()
   * const hub = createTestHub({ clock, latencyMs: 20 })
   * const manager = new SyncManager({ store: createMemoryStore(), transport: hub.connect('a'), nodeId: 'a', clock })
   * const result = await clock.runUntil(manager.sync()) // 20 ms of clock time per call
   * ```
   */
  async runUntil<T>(promise: Promise<T>, limit = 100_000): Promise<T> {
    let settled = false
    const done = (): void => {
      settled = true
    }
    promise.then(done, done)
    let fired = 0
    let idle = 0
    while (!settled) {
      await flushMicrotasks()
      if (settled) break
      if (this.timers.length === 0) {
        if (++idle > 50) {
          throw new Error(
            'TestClock.runUntil: the promise is still pending and no timer of this clock is scheduled; it waits on something else',
          )
        }
        // A macrotask turn, for work that settles outside the microtask queue.
        await new Promise((resolve) => globalThis.setTimeout(resolve, 0))
        continue
      }
      idle = 0
      if (++fired > limit)
        throw new Error(`TestClock.runUntil: ${limit} timers fired, still pending`)
      const next = Math.min(...this.timers.map((t) => t.at))
      await this.advance(Math.max(0, next - this.current))
    }
    return promise
  }

  /** Fires every pending timer (and the ones they schedule, up to `limit` rounds). */
  async runAll(limit = 10_000): Promise<void> {
    for (let i = 0; i < limit && this.timers.length > 0; i++) {
      const next = Math.min(...this.timers.map((t) => t.at))
      await this.advance(Math.max(0, next - this.current))
    }
  }
}

/** Lets queued promise callbacks run (several macrotask-free turns). */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
