import { signalOptions } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { EventStore, EventWithVersion, Filter, Version } from '../types/index.js'
import { createProjection } from './create-projection.js'
import type { Projection } from './create-projection.js'
import type { MaterializeOptions, MaterializedAggregate } from './materialize-aggregate.js'
import { checkWatchChanges, reportChangeError, watchChanges } from './watch-changes.js'

/**
 * Options for {@link keepCurrent}.
 * @example
 * ```ts
 * import { keepCurrent, type KeepCurrentOptions } from 'sync-kit'
 *
 * const options: KeepCurrentOptions = { fields: { likes: 'counter' }, signal }
 * keepCurrent(store, { aggregateId: 'post-1' }, (post) => render(post.data), options)
 * ```
 */
export interface KeepCurrentOptions extends MaterializeOptions {
  /**
   * Only events of these types count (OR-ed; tombstones always match, as with every `type`
   * filter). `deleteRule` and `fields` are for `{ aggregateId }` only: a projection you pass
   * already has its own.
   * @defaultValue every type
   */
  readonly types?: readonly string[]
  /** Stops keeping the state current when it fires. */
  readonly signal?: AbortSignal
  /**
   * Told of a failed read of the store and of what `onState` throws (see `watchChanges`). A
   * failed first read (the head or the initial load) is tried again, whole, on the store's next
   * wake-up; after `closed` it stops.
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown) => void
}

/** Events per read of the initial load. */
const PAGE = 1000

/**
 * Keeps one aggregate's state current: loads its events from the store, calls `onState` with
 * its state (`materializeAggregate` of them, through a `createProjection`), then again after
 * every change to it — local records, pulled events, other tabs' writes — as `watchChanges`
 * reports them. The first call comes once the initial load is done, also for an aggregate
 * without events (status `absent`). A failed initial load is reported to `onError` and ends
 * it (call `keepCurrent` again); later read failures are retried on the next change.
 *
 * @param store - a store with the `watch` capability (every sync-kit store).
 * @param target - `{ aggregateId }`: the aggregate to keep.
 * @param onState - receives the state, first after the load, then after each change to it.
 * @param options - delete rule and field kinds, type filter, cancellation, error hook.
 * @returns stops keeping the state current (idempotent).
 * @throws SyncKitError `invalid-argument` for a store without `watch`, a bad target or options;
 * `closed` for a closed store.
 * @example
 * ```ts
 * import { createMemoryStore, keepCurrent } from 'sync-kit'
 *
 * const store = createMemoryStore()
 * const stop = keepCurrent(store, { aggregateId: 'todo-1' }, (todo) => {
 *   if (todo.status === 'live') console.log(todo.data.title)
 * })
 * await store.store({ id: 'e1', type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
 * stop()
 * ```
 */
export function keepCurrent(
  store: EventStore,
  target: { readonly aggregateId: string },
  onState: (state: MaterializedAggregate) => void,
  options?: KeepCurrentOptions,
): () => void
/**
 * Keeps a projection current: loads every event of the store into it, calls `onState` with it
 * and the ids of all its aggregates, then after every change with the ids of the aggregates
 * that changed (got a new event).
 *
 * @param store - a store with the `watch` capability (every sync-kit store).
 * @param target - `{ projection }`: a projection from `createProjection`, e.g. of every todo.
 * @param onState - receives the projection and the changed aggregate ids (sorted).
 * @param options - type filter, cancellation, error hook.
 * @returns stops keeping the projection current (idempotent).
 * @throws SyncKitError `invalid-argument` for a store without `watch`, a bad target or options
 * (`deleteRule`/`fields` with a projection); `closed` for a closed store.
 * @example
 * ```ts
 * import { createProjection, keepCurrent } from 'sync-kit'
 *
 * const todos = createProjection()
 * const stop = keepCurrent(store, { projection: todos }, (view, changed) => {
 *   for (const id of changed) render(id, view.get(id))
 * })
 * ```
 */
export function keepCurrent(
  store: EventStore,
  target: { readonly projection: Projection },
  onState: (projection: Projection, changed: readonly string[]) => void,
  options?: KeepCurrentOptions,
): () => void
export function keepCurrent(
  store: EventStore,
  target: { readonly aggregateId?: string; readonly projection?: Projection },
  onState: (state: never, changed: readonly string[]) => void,
  options: KeepCurrentOptions = {},
): () => void {
  const { aggregateId, projection } = checkTarget(target, options)
  if (typeof onState !== 'function') throw invalid('onState', 'onState must be a function')
  const { types, signal } = options
  const onError = (error: unknown): void => {
    try {
      ;(options.onError ?? reportChangeError)(error)
    } catch {
      // The error hook's own failure has nowhere else to go.
    }
  }
  // Checked now, so that bad input throws from this call rather than reaching onError.
  checkWatchChanges(store, options)
  const view = projection ?? createProjection(options)
  const emit = (changed: readonly string[]): void => {
    const call = onState as (state: unknown, changed: readonly string[]) => void
    if (aggregateId === undefined) call(view, changed)
    else call(view.get(aggregateId), changed)
  }
  let stopWatching: (() => void) | undefined
  // Watches for the retry of a failed start (see `retryOnWake`).
  let retryWatch: (() => Promise<void>) | undefined
  let stopped = signal?.aborted === true
  const stop = (): void => {
    stopped = true
    signal?.removeEventListener('abort', stop)
    stopWatching?.()
    void retryWatch?.().catch(() => undefined)
    retryWatch = undefined
  }
  if (stopped) return stop
  // A start that failed (the head or the initial load could not be read) is tried again, whole,
  // on the store's next wake-up: the load reads from the beginning, so nothing is missed.
  const retryOnWake = (): void => {
    if (stopped || retryWatch !== undefined || store.watch === undefined) return
    try {
      retryWatch = store.watch(() => {
        const unwatch = retryWatch
        if (unwatch === undefined || stopped) return
        retryWatch = undefined
        void unwatch().catch(() => undefined)
        void start()
      })
    } catch (error) {
      onError(error)
    }
  }
  const start = async (): Promise<void> => {
    try {
      // Changes are read from the head before the load: what the load already had is a
      // duplicate the projection ignores, what came after is a change.
      const head = await store.latestVersion(signalOptions(signal))
      const filters: Filter[] | undefined = types?.map((value) => ({ key: 'type', value }))
      let since: Version | null = null
      for (;;) {
        const page: EventWithVersion[] =
          aggregateId === undefined
            ? await store.load(since, { limit: PAGE, ...(filters ? { filters } : {}) })
            : await store.loadByAggregate(aggregateId, since, {
                limit: PAGE,
                ...(filters ? { filters } : {}),
              })
        if (stopped) return
        view.apply(page)
        if (page.length < PAGE) break
        since = (page[page.length - 1] as EventWithVersion).version
      }
      try {
        emit(view.aggregateIds())
      } catch (error) {
        onError(error)
      }
      if (stopped) return
      stopWatching = watchChanges(
        store,
        (change) => {
          const changed = view.apply(change.events)
          if (changed.length > 0) emit(changed)
        },
        {
          ...options,
          // One aggregate: only its events are read (and so only its changes reported).
          ...(aggregateId === undefined ? {} : { aggregateId }),
          from: head.toString(),
        },
      )
    } catch (error) {
      if (stopped) return
      onError(error)
      // A closed store wakes no more.
      if (!isSyncKitError(error, 'closed')) retryOnWake()
    }
  }
  void start()
  signal?.addEventListener('abort', stop, { once: true })
  return stop
}

function checkTarget(
  target: { readonly aggregateId?: string; readonly projection?: Projection },
  options: KeepCurrentOptions,
): { aggregateId?: string; projection?: Projection } {
  const t = target as { aggregateId?: unknown; projection?: Partial<Projection> } | null
  if (typeof t !== 'object' || t === null) {
    throw invalid('target', 'the target must be { aggregateId } or { projection }')
  }
  if (t.projection !== undefined) {
    if (t.aggregateId !== undefined) {
      throw invalid('target', 'pass { aggregateId } or { projection }, not both')
    }
    if (typeof t.projection?.apply !== 'function' || typeof t.projection.get !== 'function') {
      throw invalid('projection', 'projection must be made by createProjection')
    }
    if (options.deleteRule !== undefined || options.fields !== undefined) {
      throw invalid(
        'options',
        'deleteRule and fields belong to the projection: pass them to createProjection',
      )
    }
    return { projection: t.projection as Projection }
  }
  if (typeof t.aggregateId !== 'string' || t.aggregateId === '') {
    throw invalid('aggregateId', 'the target must be { aggregateId } (non-empty) or { projection }')
  }
  return { aggregateId: t.aggregateId }
}

function invalid(argument: string, problem: string): SyncKitError {
  return new SyncKitError('invalid-argument', `[sync-kit] [keep-current] ${problem}`, {
    argument,
  })
}
