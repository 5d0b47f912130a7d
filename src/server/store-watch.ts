import { isSyncKitError } from '../errors/sync-kit-error.js'
import type { EventStore, StoreWatchOptions } from '../types/index.js'

/**
 * The server's subscription to its store's `watch` capability (a store shared by several
 * processes): each wake-up calls `notify`, so that live feeds re-read the store after their
 * cursor and deliver what other instances stored. Started with the first feed (a server nobody
 * streams from holds no listening connection), stopped by `close()`. A store without `watch`, or
 * one that was closed, leaves feeds to their own re-reads (a stream's heartbeat).
 */
export class StoreWake {
  readonly #store: EventStore
  readonly #options: StoreWatchOptions
  readonly #notify: () => void
  #stop: (() => Promise<void>) | undefined
  #stopped = false

  /**
   * @param store - the store.
   * @param options - passed to `store.watch`.
   * @param notify - wakes the feeds.
   */
  constructor(store: EventStore, options: StoreWatchOptions, notify: () => void) {
    this.#store = store
    this.#options = options
    this.#notify = notify
  }

  /** True while watching. */
  get watching(): boolean {
    return this.#stop !== undefined
  }

  /** Starts watching, once; a no-op after {@link StoreWake.stop} or when already watching. */
  start(): void {
    if (this.#stopped || this.#stop !== undefined || this.#store.watch === undefined) return
    try {
      this.#stop = this.#store.watch(() => this.#notify(), this.#options)
    } catch (error) {
      // A closed store: its feeds fail on their next read anyway; the next feed tries again.
      // Anything else (bad options) is the caller's to see.
      if (!isSyncKitError(error, 'closed')) throw error
    }
  }

  /** Stops watching for good and releases what the store's watcher holds. */
  async stop(): Promise<void> {
    this.#stopped = true
    const stop = this.#stop
    this.#stop = undefined
    await stop?.().catch(() => undefined)
  }
}
