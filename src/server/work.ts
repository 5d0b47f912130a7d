/**
 * Promises of work in flight (pushes, reads, deliveries), so that a caller can wait until none is
 * left, including work started meanwhile.
 */
export class WorkTracker {
  readonly #work = new Set<Promise<unknown>>()

  /** How many are in flight. */
  get size(): number {
    return this.#work.size
  }

  /**
   * Tracks a promise until it settles.
   * @param work - the promise.
   */
  track(work: Promise<unknown>): void {
    this.#work.add(work)
    const done = (): void => {
      this.#work.delete(work)
    }
    work.then(done, done)
  }

  /** Resolves once nothing is in flight, including work started while waiting. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.#work.size === 0) {
        // Let continuations of just-finished work start follow-up work before deciding.
        for (let i = 0; i < 10; i++) await Promise.resolve()
        if (this.#work.size === 0) return
      }
      await Promise.allSettled([...this.#work])
    }
  }
}
