import { SyncKitError } from '../errors/sync-kit-error.js'
import type { StoreWatchOptions } from '../types/index.js'
import { integerOption } from './options.js'
import { resolveTimers } from './timers.js'

/** A wake-up listener of `EventStore.watch`. */
type WatchListener = (latest?: string) => void

/**
 * The watchers of a store that learns of its appends in-process (the memory, SQLite and
 * IndexedDB stores): the one implementation of their `EventStore.watch`. The store calls
 * {@link AppendWatchers.wake} right after an append that stored something completed; every
 * listener is called synchronously from there, so a server that stores through the same object
 * sees the wake-up of its own write before its `storeBatch` call returns, and can tell it from
 * the writes of others (see `server/sync-server.ts`).
 */
export class AppendWatchers {
  readonly #component: string
  /** One entry per `add`, so that a listener added twice is two watchers. */
  #entries = new Set<{
    readonly listener: WatchListener
    readonly end?: (() => void) | undefined
  }>()

  /** @param component - names the store in messages, e.g. `memory`. */
  constructor(component: string) {
    this.#component = component
  }

  /**
   * Adds a watcher (the body of a store's `watch`, once the store checked it is open).
   * @param listener - the wake-up.
   * @param end - releases what the watcher holds (a poll timer), on stop or close.
   * @returns stops this watcher; resolves at once.
   * @throws SyncKitError `invalid-argument` for a listener that is not a function.
   */
  add(listener: WatchListener, end?: () => void): () => Promise<void> {
    if (typeof listener !== 'function') {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${this.#component}] watch needs a listener function, got ${typeof listener}`,
        { argument: 'listener' },
      )
    }
    const entry = { listener, end }
    this.#entries.add(entry)
    return async () => {
      this.#entries.delete(entry)
      end?.()
    }
  }

  /**
   * Calls every listener, each shielded from the others' failures.
   * @param latest - the newest version as a string; none for a poll.
   */
  wake(latest?: string): void {
    for (const { listener } of [...this.#entries]) {
      try {
        if (latest === undefined) listener()
        else listener(latest)
      } catch {
        // A wake-up listener's failure is its own; the append has committed.
      }
    }
  }

  /** Stops every watcher (the store closed). */
  close(): void {
    for (const { end } of this.#entries) end?.()
    this.#entries = new Set()
  }
}

/**
 * {@link AppendWatchers.add} with a fallback poll: with `pollIntervalMs`, the listener is also
 * called that often without an argument, for writers the store cannot hear (other processes on
 * one SQLite file). `backoff` has nothing to reconnect in-process and is not used.
 * @param watchers - the store's watchers.
 * @param listener - the wake-up.
 * @param options - `pollIntervalMs` (none: no poll) and `timers`.
 * @param component - names the store in messages.
 * @returns stops this watcher and its poll; resolves at once.
 * @throws SyncKitError `invalid-argument` for a listener that is not a function, a bad
 * `pollIntervalMs` or `timers`.
 */
export function watchWithPoll(
  watchers: AppendWatchers,
  listener: WatchListener,
  options: StoreWatchOptions | undefined,
  component: string,
): () => Promise<void> {
  const pollMs = integerOption(options?.pollIntervalMs, 0, 'pollIntervalMs', component)
  const timers = resolveTimers(options?.timers, undefined, component)
  if (pollMs === 0) return watchers.add(listener)
  let timer: unknown
  let live = true
  const poll = (): void => {
    timer = timers.setTimeout(() => {
      try {
        listener()
      } catch {
        // As for a wake-up: the listener's failure is its own.
      }
      // A listener may have stopped its own watcher.
      if (live) poll()
    }, pollMs)
  }
  // Added first: a listener that is not a function is refused before any timer starts.
  const stop = watchers.add(listener, () => {
    live = false
    timers.clearTimeout(timer)
  })
  poll()
  return stop
}
