import { SyncKitError } from '../errors/sync-kit-error.js'
import type { StoreWatchOptions } from '../types/index.js'
import { integerOption } from './options.js'
import { resolveTimers } from './timers.js'

/** A wake-up listener of `EventStore.watch`. */
export type WatchListener = (latest?: string) => void

/**
 * The watchers of a store that learns of its appends in-process (the memory, SQLite and
 * IndexedDB stores). A set of listeners, so that (as with `addEventListener`) adding the same
 * function twice watches once, and one stop ends it.
 */
export type Watchers = Set<WatchListener>

/**
 * Adds a watcher to a store's set: the body of the `watch` of the memory, SQLite and IndexedDB
 * stores (the one implementation of it), once the store checked it is open.
 * @param watchers - the store's watchers.
 * @param listener - the wake-up.
 * @param component - names the store in messages, e.g. `memory`.
 * @returns stops watching; resolves at once.
 * @throws SyncKitError `invalid-argument` for a listener that is not a function.
 */
export function addWatcher(
  watchers: Watchers,
  listener: WatchListener,
  component: string,
): () => Promise<void> {
  if (typeof listener !== 'function') {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] watch: listener must be a function`,
      { argument: 'listener' },
    )
  }
  watchers.add(listener)
  return async () => {
    watchers.delete(listener)
  }
}

/**
 * Wakes a store's watchers right after an append that stored something completed: each listener
 * is called synchronously from there, shielded from the others' failures. So a server that
 * stores through the same store object sees the wake-up of its own write before its `storeBatch`
 * call returns, and can tell it from the writes of others (see `server/sync-server.ts`).
 * @param watchers - the store's watchers.
 * @param latest - the newest version as a string.
 */
export function wakeWatchers(watchers: Watchers, latest: string): void {
  for (const listener of watchers) {
    try {
      listener(latest)
    } catch {
      // A wake-up listener's failure is its own; the append has committed.
    }
  }
}

/**
 * {@link addWatcher} with a fallback poll: with `pollIntervalMs`, the listener is also called
 * that often without an argument, for writers the store cannot hear (other processes on one
 * SQLite file). `backoff` has nothing to reconnect in-process and is not used. The poll ends
 * with the watcher: on stop, or when the store clears its set on `close()`.
 * @param watchers - the store's watchers.
 * @param listener - the wake-up.
 * @param options - `pollIntervalMs` (none: no poll) and `timers`.
 * @param component - names the store in messages.
 * @returns stops this watcher and its poll; resolves at once.
 * @throws SyncKitError `invalid-argument` for a listener that is not a function, a bad
 * `pollIntervalMs` or `timers`.
 */
export function watchWithPoll(
  watchers: Watchers,
  listener: WatchListener,
  options: StoreWatchOptions | undefined,
  component: string,
): () => Promise<void> {
  const pollMs = integerOption(options?.pollIntervalMs, 0, 'pollIntervalMs', component)
  const timers = resolveTimers(options?.timers, undefined, component)
  const stop = addWatcher(watchers, listener, component)
  let timer: unknown
  const poll = (): void => {
    timer = timers.setTimeout(() => {
      // Stopped, also by the listener itself (below), or the store closed: no more polls.
      if (!watchers.has(listener)) return
      try {
        listener()
      } catch {
        // As for a wake-up: the listener's failure is its own.
      }
      if (watchers.has(listener)) poll()
    }, pollMs)
  }
  if (pollMs > 0) poll()
  return () => {
    timers.clearTimeout(timer)
    return stop()
  }
}
