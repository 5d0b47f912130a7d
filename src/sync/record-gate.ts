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
 * it pulls, so that the pulled events are compared with the edits of every tab. And a started
 * manager (the leading tab's) syncs as soon as any tab records, so their edits go out at once.
 *
 * @module
 */
import { withFoldCache } from '../causality/causal-context.js'
import { signalOptions } from '../errors/abort.js'
import { watchChanges } from '../projections/watch-changes.js'
import type { EventStore } from '../types/index.js'
import type { CausalTracker } from './causal-tracker.js'
import { type SyncFeature, defineFeature } from './feature.js'
import type { SyncManager } from './sync-manager.js'
import type { SyncContext } from './sync-options.js'

/** Events per read while catching up. */
const CATCH_UP_PAGE = 500

/**
 * Runs `run` while holding the lock that every manager of the replica shares, released when
 * `run` settles; rejects with `aborted` when `signal` fires while it waits.
 */
export type RecordLock = <T>(run: () => Promise<T>, signal: AbortSignal | undefined) => Promise<T>

/**
 * Makes the feature of a replica whose store several managers write to: it takes over the new
 * manager's `record` (run under the lock, after catching up) and `sync` (after catching up).
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
    // The slots are the new manager's context (see `applyFeatures`).
    const ctx = slots as SyncContext
    slots.attach = (manager, parts) => {
      const lock = makeLock(ctx)
      const catchUp = catchingUp(ctx.store, parts.causal)
      const record = manager.record.bind(manager)
      const sync = manager.sync.bind(manager)
      manager.record = ((input, options = {}) =>
        lock(async () => {
          await catchUp(options.signal)
          return record(input, options)
        }, options.signal)) as SyncManager['record']
      manager.sync = async (options = {}) => {
        await catchUp(options.signal)
        return sync(options)
      }
      pushPromptly(manager, ctx)
    }
  })
}

/**
 * While the manager runs (`start()` to `stop()`), syncs as soon as the store holds a new record of
 * this replica — from this tab or another — instead of on the next interval: the leading tab
 * pushes what the other tabs record at once. Pulled events (other writers) do not trigger it.
 * @param manager - the manager, its `start`/`stop` taken over.
 * @param ctx - its context: the store, the node id, the emitter for errors.
 */
function pushPromptly(manager: SyncManager, ctx: SyncContext): void {
  const { store, nodeId, events } = ctx
  if (typeof store.watch !== 'function') return
  const start = manager.start.bind(manager)
  const stop = manager.stop.bind(manager)
  const report = (error: unknown): void => events.emit('error', error)
  let unwatch: (() => void) | undefined
  manager.start = () => {
    start()
    unwatch ??= watchChanges(
      store,
      (change) => {
        const recorded = change.events.some((item) => item.event.metadata?.origin === nodeId)
        if (recorded && manager.isRunning) manager.sync().catch(report)
      },
      { onError: report },
    )
  }
  manager.stop = async () => {
    unwatch?.()
    unwatch = undefined
    await stop()
  }
}

/**
 * Makes the catch-up of one manager: observes what the store holds after the tracker's cursor
 * (the other managers' events, and again its own, which changes nothing), one catch-up at a time.
 * @param store - the replica's store.
 * @param causal - the manager's causal tracker.
 * @returns the catch-up; its signal cancels the reads.
 */
function catchingUp(
  store: EventStore,
  causal: CausalTracker,
): (signal: AbortSignal | undefined) => Promise<void> {
  let reading: Promise<void> = Promise.resolve()
  const read = async (signal: AbortSignal | undefined): Promise<void> => {
    // The start-up scan sets the cursor; before it, there is nothing to catch up with.
    await causal.init(signal)
    for (;;) {
      const page = await store.load(causal.cursor ?? null, {
        limit: CATCH_UP_PAGE,
        ...signalOptions(signal),
      })
      // The store's own copies: their parsed contexts are not kept beside them.
      withFoldCache(() => {
        for (const stored of page) {
          causal.observe(stored)
          causal.receiveStamp(stored.event)
        }
      })
      causal.cursor = page[page.length - 1]?.version ?? causal.cursor
      if (page.length < CATCH_UP_PAGE) return
    }
  }
  return (signal) => {
    reading = reading.catch(() => undefined).then(() => read(signal))
    return reading
  }
}
