/** Why {@link Notifier.wait} returned. */
export type WaitOutcome = 'changed' | 'timeout' | 'aborted'

/**
 * Wakes live streams when new events were stored. A generation counter rather than a payload:
 * streams always read the events from the store after their own cursor, so a wake-up can never
 * carry a gap or a duplicate, and one missed between "read the store" and "wait" is caught
 * because the stream waits for a generation newer than the one it saw before reading.
 */
export class Notifier {
  private current = 0
  private readonly waiters = new Set<() => void>()

  /** Incremented by every {@link Notifier.notify}. */
  get generation(): number {
    return this.current
  }

  /** Signals that the store may hold new events; wakes every waiter. */
  notify(): void {
    this.current++
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }

  /**
   * Waits until the generation passes `seen`, `timeoutMs` elapses, or `signal` fires.
   * @param seen - the generation observed before the caller last read the store.
   * @param timeoutMs - the longest wait.
   * @param signal - ends the wait early.
   * @returns why the wait ended.
   */
  wait(seen: number, timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    if (signal.aborted) return Promise.resolve('aborted')
    if (this.current !== seen) return Promise.resolve('changed')
    return new Promise((resolve) => {
      const finish = (outcome: WaitOutcome): void => {
        clearTimeout(timer)
        this.waiters.delete(onChange)
        signal.removeEventListener('abort', onAbort)
        resolve(outcome)
      }
      const onChange = (): void => finish('changed')
      const onAbort = (): void => finish('aborted')
      const timer = setTimeout(() => finish('timeout'), timeoutMs)
      this.waiters.add(onChange)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}
