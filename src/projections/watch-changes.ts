import { signalOptions } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type {
  EventStore,
  EventWithVersion,
  Filter,
  StoreWatchOptions,
  Version,
} from '../types/index.js'

/**
 * What {@link watchChanges} hands its listener: events new to the store since the last change.
 * @example
 * ```ts
 * import { watchChanges, type StoreChange } from 'sync-kit'
 *
 * const render = ({ events, aggregateIds }: StoreChange) => console.log(events.length, aggregateIds)
 * const stop = watchChanges(store, render)
 * ```
 */
export interface StoreChange {
  /**
   * The new events, oldest first (log order), each with its local version; every event of the
   * store after the starting point that matches the filters is in exactly one change.
   */
  readonly events: readonly EventWithVersion[]
  /** The aggregate ids of `events`, each once, in the order first met. */
  readonly aggregateIds: readonly string[]
}

/**
 * Receives the changes of {@link watchChanges}, one at a time: a change is handed over only once
 * the promise the previous call returned has settled.
 * @example
 * ```ts
 * import type { StoreChangeListener } from 'sync-kit'
 *
 * const save: StoreChangeListener = async ({ events }) => { await cache.put(events) } // awaited
 * ```
 */
export type StoreChangeListener = (change: StoreChange) => void | Promise<void>

/**
 * Options for {@link watchChanges}.
 * @example
 * ```ts
 * import { watchChanges, type WatchChangesOptions } from 'sync-kit'
 *
 * const options: WatchChangesOptions = { aggregateId: 'todo-1', types: ['TodoRenamed'], signal }
 * watchChanges(store, ({ events }) => console.log(events), options)
 * ```
 */
export interface WatchChangesOptions {
  /**
   * Where to start: a version string of this store (`Version.toString()`); events after it are
   * delivered at once, as the first change, then every new one.
   * @defaultValue the store's latest version when watching starts: only changes from now on
   */
  readonly from?: string
  /**
   * Only this aggregate's events (read with `loadByAggregate`).
   * @defaultValue every aggregate
   */
  readonly aggregateId?: string
  /**
   * Only events of these types (OR-ed). As every `type` filter of sync-kit, it also matches
   * tombstones (deletes), so a view never misses that an aggregate it shows was deleted.
   * @defaultValue every type
   */
  readonly types?: readonly string[]
  /** Stops watching when it fires (an already aborted signal: nothing is ever delivered). */
  readonly signal?: AbortSignal
  /**
   * Told of a failed read of the store (the watcher keeps its cursor and reads again on the next
   * wake-up; after `closed` it stops) and of what the listener throws or rejects with (that
   * change counts as delivered). When the first read of the store's latest version fails
   * (without `from` there is then no starting point), the watcher stops and is told
   * `unavailable`, with the store's error as `cause`: call `watchChanges` again.
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown) => void
  /**
   * Passed to the store's `watch`: e.g. `{ pollIntervalMs: 2000 }` for a SQLite file that other
   * processes write to.
   * @defaultValue the store's defaults
   */
  readonly watch?: StoreWatchOptions
}

/** Events per read of the store: a burst larger than this arrives as several changes. */
const PAGE = 500
const COMPONENT = '[sync-kit] [watch-changes]'

/**
 * Calls `listener` with what is new in the store whenever its log grows — events recorded
 * locally, pulled by a `SyncManager`, stored by another tab — with the events and their
 * aggregate ids. It reads the store from its own cursor after each wake-up of the store's
 * `watch` (the store is the truth, so nothing is lost or repeated): wake-ups that come while a
 * read or a listener call runs are coalesced into one further read, and never two reads run at
 * once. The same on every sync-kit store: memory, SQLite, IndexedDB, PostgreSQL.
 *
 * @param store - a store with the `watch` capability.
 * @param listener - receives each change; awaited when it returns a promise.
 * @param options - the starting point, filters, cancellation, error hook.
 * @returns a function that stops watching (idempotent); a read under way is not delivered.
 * @throws SyncKitError `invalid-argument` for a store without `watch` or bad options (an
 * unparsable `from`, an empty `aggregateId` or `types`); `closed` for a closed store.
 * @example
 * ```ts
 * import { createMemoryStore, watchChanges } from 'sync-kit'
 *
 * const store = createMemoryStore()
 * const stop = watchChanges(store, ({ events, aggregateIds }) => {
 *   console.log(`${events.length} new events for ${aggregateIds.join(', ')}`)
 * })
 * await store.store({ id: 'e1', type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
 * stop()
 * ```
 */
export function watchChanges(
  store: EventStore,
  listener: StoreChangeListener,
  options: WatchChangesOptions = {},
): () => void {
  if (typeof listener !== 'function') throw invalid('listener', 'listener must be a function')
  const watch = checkWatchChanges(store, options)
  const { aggregateId, signal, onError = reportChangeError } = options
  const from = options.from === undefined ? undefined : parseFrom(store, options.from)
  const filters: Filter[] | undefined = options.types?.map((value) => ({ key: 'type', value }))
  const read = (cursor: Version | null): Promise<EventWithVersion[]> => {
    const page = filters === undefined ? { limit: PAGE } : { limit: PAGE, filters }
    return aggregateId === undefined
      ? store.load(cursor, page)
      : store.loadByAggregate(aggregateId, cursor, page)
  }
  if (signal?.aborted === true) return () => undefined

  let cursor: Version | null | undefined = from
  let dirty = from !== undefined
  let running = false
  let stopped = false
  const report = (error: unknown): void => {
    try {
      onError(error)
    } catch {
      // The error hook's own failure has nowhere else to go.
    }
  }
  const drain = async (): Promise<void> => {
    running = true
    try {
      // The head is read after `watch` began, so an append in between is either before it or
      // wakes the watcher afterwards: nothing falls in a gap.
      if (cursor === undefined) {
        try {
          cursor = await store.latestVersion(signalOptions(signal))
        } catch (error) {
          // Without the head there is no starting point: read later, the head would already
          // include the appends that woke the watcher, so they would be skipped unseen. Stop and
          // say so, rather than lose them.
          if (stopped) return
          stop()
          report(
            isSyncKitError(error, 'closed')
              ? error
              : new SyncKitError(
                  'unavailable',
                  "watchChanges could not read the store's latest version to start from, so it stopped (nothing was skipped): call it again, or pass `from`",
                  {},
                  { cause: error },
                ),
          )
          return
        }
      }
      while (dirty && !stopped) {
        dirty = false
        for (;;) {
          const page = await read(cursor)
          if (stopped || page.length === 0) break
          cursor = (page[page.length - 1] as EventWithVersion).version
          try {
            await listener({ events: page, aggregateIds: aggregateIdsOf(page) })
          } catch (error) {
            report(error)
          }
          if (page.length < PAGE) break
        }
      }
    } catch (error) {
      if (stopped) return
      // Read again on the next wake-up, from the same cursor; a closed store wakes no more.
      report(error)
      if (isSyncKitError(error, 'closed')) stop()
    } finally {
      running = false
    }
  }
  const wake = (): void => {
    dirty = true
    if (!running && !stopped) void drain()
  }
  const unwatch = watch(wake, options.watch)
  const stop = (): void => {
    if (stopped) return
    stopped = true
    signal?.removeEventListener('abort', stop)
    void unwatch().catch(() => undefined)
  }
  signal?.addEventListener('abort', stop, { once: true })
  void drain()
  return stop
}

/** The aggregate ids of a page, each once, in the order first met. */
function aggregateIdsOf(page: readonly EventWithVersion[]): string[] {
  return [...new Set(page.map((item) => item.event.aggregateId))]
}

/**
 * Checks the arguments of {@link watchChanges} (also for `keepCurrent`, before its first read).
 * @param store - the store.
 * @param options - the options.
 * @returns the store's `watch`, bound to it.
 * @throws SyncKitError `invalid-argument` for a store without `watch` or bad options.
 */
export function checkWatchChanges(
  store: EventStore,
  options: WatchChangesOptions,
): NonNullable<EventStore['watch']> {
  checkOptions(options)
  if (typeof (store as Partial<EventStore> | null)?.load !== 'function') {
    throw invalid('store', 'watchChanges needs an EventStore')
  }
  if (typeof store.watch !== 'function') {
    throw invalid(
      'store',
      'this store has no watch capability (EventStore.watch), so it cannot say when its log grows; every store of sync-kit has it (memory, SQLite, IndexedDB, PostgreSQL)',
    )
  }
  return store.watch.bind(store)
}

function checkOptions(options: WatchChangesOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'options must be an object')
  }
  const { aggregateId, types, onError, signal } = options
  if (aggregateId !== undefined && (typeof aggregateId !== 'string' || aggregateId === '')) {
    throw invalid('aggregateId', 'aggregateId must be a non-empty string')
  }
  if (
    types !== undefined &&
    (!Array.isArray(types) ||
      types.length === 0 ||
      types.some((type: unknown) => typeof type !== 'string' || type === ''))
  ) {
    throw invalid('types', 'types must be a non-empty array of non-empty strings')
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw invalid('onError', 'onError must be a function')
  }
  if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
    throw invalid('signal', 'signal must be an AbortSignal')
  }
}

function parseFrom(store: EventStore, from: unknown): Version {
  try {
    if (typeof from !== 'string') throw new TypeError(`got ${typeof from}`)
    return store.parseVersion(from)
  } catch (cause) {
    throw invalid(
      'from',
      `from must be a version string of this store (Version.toString()), got ${JSON.stringify(from)?.slice(0, 80) ?? typeof from}`,
      cause,
    )
  }
}

function invalid(argument: string, problem: string, cause?: unknown): SyncKitError {
  return new SyncKitError(
    'invalid-argument',
    `${COMPONENT} ${problem}`,
    { argument },
    cause === undefined ? undefined : { cause },
  )
}

/**
 * The default `onError` of {@link watchChanges} and `keepCurrent`: logs the error.
 * @param error - what failed.
 */
export function reportChangeError(error: unknown): void {
  console.error(COMPONENT, error)
}
