import { throwIfAborted } from '../../errors/abort.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { sharedStoreFeature } from '../../sync/record-gate.js'
import type { SyncFeature } from '../../sync/feature.js'

/**
 * The part of the browser's Web Locks API (`navigator.locks`, a `LockManager`) that
 * {@link runInOneTab} and {@link sharedReplica} use, typed structurally so that these
 * declarations need no DOM library.
 * @example
 * ```ts
 * import { runInOneTab, type WebLocks } from 'sync-kit/indexeddb'
 *
 * const locks: WebLocks = navigator.locks
 * runInOneTab('todo-sync', () => manager.start(), { locks })
 * ```
 */
export interface WebLocks {
  /**
   * Waits for the lock `name`, then holds it while `callback`'s promise runs
   * (`LockManager.request`).
   * @param name - the lock's name, shared by every tab, window and worker of the origin.
   * @param options - `signal` gives up waiting (the call rejects with an `AbortError`).
   * @param callback - runs while the lock is held.
   * @returns what `callback` returned.
   */
  request<T>(
    name: string,
    options: { readonly signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>
}

/**
 * What {@link runInOneTab}'s `run` may hand back: how to end what it started, awaited before the
 * lock goes to another tab.
 * @example
 * ```ts
 * import { runInOneTab, type OneTabCleanup } from 'sync-kit/indexeddb'
 *
 * runInOneTab('todo-app', (): OneTabCleanup => { manager.start(); return () => manager.stop() })
 * ```
 */
export type OneTabCleanup = () => unknown

/**
 * Options for {@link runInOneTab}.
 * @example
 * ```ts
 * import { runInOneTab, type RunInOneTabOptions } from 'sync-kit/indexeddb'
 *
 * const options: RunInOneTabOptions = { withoutLocks: 'run', onError: (e) => showBanner(e) }
 * runInOneTab('todo-app', () => manager.start(), options)
 * ```
 */
export interface RunInOneTabOptions {
  /** Ends the run (or the wait for it) when it fires, as the returned stop function does. */
  readonly signal?: AbortSignal
  /**
   * The Web Locks implementation.
   * @defaultValue `navigator.locks`
   */
  readonly locks?: WebLocks
  /**
   * What to do where there are no Web Locks (`navigator.locks` exists in secure contexts only:
   * pages over https or from localhost, not plain http from a LAN address): `'throw'` refuses
   * with `invalid-argument`; `'run'` runs `run` in this tab at once, as if it led — every open
   * tab then runs it, so choose it only where one tab is the rule.
   * @defaultValue `'throw'`
   */
  readonly withoutLocks?: 'throw' | 'run'
  /**
   * Told of what `run` or its cleanup throws; the lock is released then, so another tab may
   * take over.
   * @defaultValue `console.error`
   */
  readonly onError?: (error: unknown) => void
}

/**
 * Runs `run` in exactly one tab (or window, or worker) of the origin at a time: the one holding
 * the Web Lock `sync-kit:one-tab:<name>`. The others wait; when the leading tab closes (the
 * browser releases its lock), stops, or its `run` fails, the next one takes over and runs `run`.
 * Typically `run` starts the `SyncManager` of the app's IndexedDB store and returns its stop,
 * so one tab syncs for all of them; every tab still sees every change through `watchChanges`
 * on its own store object, and the leader pushes what the other tabs recorded on its next sync.
 * Each tab's manager records safely with the {@link sharedReplica} feature.
 *
 * @param name - names the job, the same in every tab, e.g. the database name.
 * @param run - starts the job in the leading tab; gets a signal that fires when this tab stops
 * leading, and may return (or resolve to) a {@link OneTabCleanup} that ends the job, awaited
 * before the lock is released; any other value is ignored.
 * @param options - cancellation, the Web Locks implementation, the fallback without them, the
 * error hook.
 * @returns stops: gives up leading (ending the job) or waiting; resolves once the lock is free.
 * @throws SyncKitError `invalid-argument` for a bad name or run, or where there are no Web Locks
 * and `withoutLocks` is not `'run'`.
 * @example
 * ```ts
 * import { SyncManager } from 'sync-kit'
 * import { openIndexedDbStore, runInOneTab, sharedReplica } from 'sync-kit/indexeddb'
 *
 * const store = await openIndexedDbStore({ name: 'todo-app' })
 * const manager = new SyncManager({ store, transport, features: [sharedReplica()] })
 * runInOneTab('todo-app', () => {
 *   manager.start()
 *   return () => manager.stop()
 * })
 * ```
 */
export function runInOneTab(
  name: string,
  run: (signal: AbortSignal) => unknown,
  options: RunInOneTabOptions = {},
): () => Promise<void> {
  if (typeof name !== 'string' || name === '') {
    throw invalid('name', `runInOneTab needs a non-empty name, got ${describe(name)}`)
  }
  if (typeof run !== 'function') {
    throw invalid('run', `runInOneTab needs a run function, got ${describe(run)}`)
  }
  const { signal, withoutLocks = 'throw', onError = logError } = options
  if (withoutLocks !== 'throw' && withoutLocks !== 'run') {
    throw invalid('withoutLocks', `withoutLocks must be 'throw' or 'run'`)
  }
  const locks = options.locks ?? defaultLocks()
  if (locks === undefined && withoutLocks === 'throw') {
    throw invalid(
      'locks',
      `runInOneTab needs Web Locks (navigator.locks), which browsers offer in secure contexts only (https, or localhost); serve the page so, or pass withoutLocks: 'run' to run in this tab anyway`,
    )
  }
  const stopping = new AbortController()
  const stop = (): void => stopping.abort()
  signal?.addEventListener('abort', stop, { once: true })
  if (signal?.aborted === true) stop()
  const lead = async (): Promise<void> => {
    if (stopping.signal.aborted) return
    try {
      const cleanup: unknown = await run(stopping.signal)
      if (!stopping.signal.aborted) {
        await new Promise<void>((resolve) => {
          stopping.signal.addEventListener('abort', () => resolve(), { once: true })
        })
      }
      if (typeof cleanup === 'function') await (cleanup as OneTabCleanup)()
    } catch (error) {
      report(onError, error)
    }
  }
  const held =
    locks === undefined
      ? lead()
      : locks
          .request(`sync-kit:one-tab:${name}`, { signal: stopping.signal }, lead)
          .catch((error: unknown) => {
            // Giving up the wait rejects with the browser's AbortError: that is the stop.
            if (!stopping.signal.aborted) report(onError, error)
          })
  return async () => {
    stop()
    signal?.removeEventListener('abort', stop)
    await held
  }
}

/**
 * Options for {@link sharedReplica}.
 * @example
 * ```ts
 * import { sharedReplica, type SharedReplicaOptions } from 'sync-kit/indexeddb'
 *
 * const options: SharedReplicaOptions = { locks: navigator.locks }
 * const manager = new SyncManager({ store, transport, features: [sharedReplica(options)] })
 * ```
 */
export interface SharedReplicaOptions {
  /**
   * The Web Locks implementation.
   * @defaultValue `navigator.locks`
   */
  readonly locks?: WebLocks
}

/**
 * The `SyncManager` feature for a replica that several tabs share: each tab of the app has its
 * own manager on its own store object of one IndexedDB database, under one node id (the store's
 * `replicaId`). Without it two tabs recording at once could give two events the same causal dot
 * and the same HLC stamp, which hides conflicts. With it every `record` holds the Web Lock
 * `sync-kit:record:<database name>` and first observes what the other tabs stored, and every
 * sync does so before it pulls, so each tab's clocks follow all of theirs. A started manager
 * (the one {@link runInOneTab} runs) also syncs as soon as any tab records, instead of on its next
 * interval. Costs one read of the store per record (usually of the few events stored since the
 * last one), and in the started manager one per change of the store.
 *
 * @param options - the Web Locks implementation.
 * @returns the feature, for the manager's `features` option.
 * @throws SyncKitError `invalid-argument` from the `SyncManager` constructor where there are no
 * Web Locks (secure contexts only: https, or localhost) and no `locks` option.
 * @example
 * ```ts
 * import { SyncManager } from 'sync-kit'
 * import { openIndexedDbStore, sharedReplica } from 'sync-kit/indexeddb'
 *
 * const store = await openIndexedDbStore({ name: 'todo-app' })
 * const manager = new SyncManager({ store, transport, features: [sharedReplica()] })
 * await manager.record({ type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
 * ```
 */
export function sharedReplica(options: SharedReplicaOptions = {}): SyncFeature {
  return sharedStoreFeature('shared-replica', (ctx) => {
    const locks = options.locks ?? defaultLocks()
    if (locks === undefined) {
      throw invalid(
        'features',
        `sharedReplica() needs Web Locks (navigator.locks), which browsers offer in secure contexts only (https, or localhost); without them keep one SyncManager per database`,
      )
    }
    const { name } = ctx.store as { readonly name?: unknown }
    const lock = `sync-kit:record:${typeof name === 'string' ? name : ctx.nodeId}`
    return (run, signal) =>
      locks.request(lock, signal === undefined ? {} : { signal }, run).catch((error: unknown) => {
        // Given up waiting: the browser's AbortError becomes sync-kit's `aborted`.
        throwIfAborted(signal, '[sync-kit] [indexeddb] record (waiting for the other tabs)')
        throw error
      })
  })
}

function defaultLocks(): WebLocks | undefined {
  const locks = (globalThis as { navigator?: { locks?: Partial<WebLocks> } }).navigator?.locks
  return typeof locks?.request === 'function' ? (locks as WebLocks) : undefined
}

function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error)
  } catch {
    // The error hook's own failure has nowhere else to go.
  }
}

function logError(error: unknown): void {
  console.error('[sync-kit] [indexeddb] runInOneTab', error)
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'string' ? 'an empty string' : typeof value
}

function invalid(argument: string, problem: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `[sync-kit] [indexeddb] ${problem}`, { argument })
}
