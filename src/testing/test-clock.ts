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
