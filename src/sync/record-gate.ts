/**
 * One replica, several managers: what the `sharedReplica()` feature (of `sync-kit/indexeddb`)
 * adds to a `SyncManager` whose store other managers of the same replica write to as well —
 * the tabs of a web app, each with its own manager on one IndexedDB database and one node id.
 *
 * Each manager keeps its own clocks in memory, so two of them recording at once would give two
 * events the same causal dot (node id and counter) and could give them the same HLC stamp:
 * events that look equal, hiding a conflict. So every record runs under a lock all of them share
 * (Web Locks across tabs), and first catches up: it observes what the others stored since this
 * manager last looked — their dots, stamps and heads — so its next dot and stamp come after
 * theirs and its conflicts are found against their edits too. A sync catches up as well before
 * it pulls, so that the pulled events are compared with the edits of every tab.
 *
 * @module
 */
import { signalOptions } from '../errors/abort.js'
import type { EventWithVersion } from '../types/index.js'
import type { CausalTracker } from './causal-tracker.js'
import { type SyncFeature, defineFeature } from './feature.js'
import type { SyncContext } from './sync-options.js'

/** Events per read while catching up. */
const CATCH_UP_PAGE = 500

/**
 * Runs `run` while holding the lock that every manager of the replica shares, released when
 * `run` settles; rejects with `aborted` when `signal` fires while it waits.
 */
export type RecordLock = <T>(run: () => Promise<T>, signal: AbortSignal | undefined) => Promise<T>

/** How a manager of a shared replica records and syncs (see the module comment). */
export interface RecordGate {
  /**
   * Runs one record's stamp and write under the lock, after catching up.
   * @param write - stamps and stores the event.
   * @param signal - cancels the wait for the lock and the catch-up.
   * @returns what `write` returned.
   */
  record<T>(write: () => Promise<T>, signal: AbortSignal | undefined): Promise<T>
  /**
   * Observes what the store holds beyond what this manager has seen (one catch-up at a time).
   * @param signal - cancels the reads.
   */
  catchUp(signal: AbortSignal | undefined): Promise<void>
}

/**
 * Makes the feature of a replica whose store several managers write to.
 * @param name - the feature's name.
 * @param makeLock - gives the lock every manager of the replica shares (called once per
 * manager, with its context: e.g. to name the lock after its store); may throw to refuse.
 * @returns the feature.
 */
export function sharedStoreFeature(
  name: string,
  makeLock: (ctx: SyncContext) => RecordLock,
): SyncFeature {
  return defineFeature(name, (slots) => {
    slots.makeRecordGate = (ctx, causal) => new SharedStoreGate(ctx, causal, makeLock(ctx))
  })
}

class SharedStoreGate implements RecordGate {
  readonly #ctx: SyncContext
  readonly #causal: CausalTracker
  readonly #lock: RecordLock
  #reading: Promise<void> = Promise.resolve()

  constructor(ctx: SyncContext, causal: CausalTracker, lock: RecordLock) {
    this.#ctx = ctx
    this.#causal = causal
    this.#lock = lock
  }

  record<T>(write: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return this.#lock(async () => {
      await this.catchUp(signal)
      return write()
    }, signal)
  }

  catchUp(signal: AbortSignal | undefined): Promise<void> {
    const next = this.#reading.catch(() => undefined).then(() => this.#read(signal))
    this.#reading = next
    return next
  }

  async #read(signal: AbortSignal | undefined): Promise<void> {
    const causal = this.#causal
    for (;;) {
      const page = await this.#ctx.store.load(causal.cursor, {
        limit: CATCH_UP_PAGE,
        ...signalOptions(signal),
      })
      // Observing an event this manager stored or observed itself changes nothing.
      for (const stored of page) {
        causal.observe(stored)
        causal.receiveStamp(stored.event)
      }
      causal.cursor =
        (page[page.length - 1] as EventWithVersion | undefined)?.version ?? causal.cursor
      if (page.length < CATCH_UP_PAGE) return
    }
  }
}
