import type { EventStore } from '../types/index.js'
import {
  ConformanceAssertionError,
  checkSkips,
  checkSuiteOptions,
  fail,
} from './conformance-api.js'
import type { ConformanceSkips, ConformanceTestApi } from './conformance-api.js'
import { APPEND_CASES } from './store-cases/append.js'
import { BATCH_CASES } from './store-cases/batch.js'
import { CHECKPOINTS_CASES } from './store-cases/checkpoints.js'
import { EPOCH_CASES } from './store-cases/epoch.js'
import { FILTERS_CASES } from './store-cases/filters.js'
import type { CaseDefinition, CaseTable } from './store-cases/helpers.js'
import { LIFECYCLE_CASES } from './store-cases/lifecycle.js'
import { LOAD_CASES } from './store-cases/load.js'
import { REOPEN_CASES } from './store-cases/reopen.js'
import { ROUND_TRIP_CASES } from './store-cases/round-trip.js'
import { STATE_CASES } from './store-cases/state.js'
import { VERSIONS_CASES } from './store-cases/versions.js'
import { WATCH_CASES } from './store-cases/watch.js'

export type { ConformanceSkips, ConformanceTestApi } from './conformance-api.js'

/**
 * Options for {@link eventStoreConformance}.
 *
 * @example
 * ```ts
 * import { it } from 'vitest'
 * import type { EventStoreConformanceOptions } from 'sync-kit/testing'
 *
 * const options: EventStoreConformanceOptions = {
 *   name: 'my store',
 *   createStore: async () => openMyStore(),
 *   storeBatch: false,
 *   skip: { 'filter by tenant matches metadata.tenant only': 'this store has no tenants' },
 *   test: { describe, it, skip: (name, reason) => it.skip(`${name} (${reason})`, () => {}) },
 * }
 * ```
 */
export interface EventStoreConformanceOptions {
  /** Names the store in the report, e.g. `memory` or `sqlite (file)`. */
  readonly name: string
  /**
   * Creates a fresh, empty store; called once per case (and again by the few cases that need a
   * second store). The suite closes every store it created when the case ends.
   */
  readonly createStore: () => EventStore | Promise<EventStore>
  /** The test runner's functions. */
  readonly test: ConformanceTestApi
  /**
   * Cases to skip: case name (from {@link EVENT_STORE_CASES}) → reason. An unknown name or an
   * empty reason is an error, so a typo never skips silently.
   * @defaultValue no skips
   */
  readonly skip?: ConformanceSkips
  /**
   * Whether the store has the optional `storeBatch`. When false, the batch cases are registered
   * as skipped with that reason; when true and `storeBatch` is missing, they fail.
   * @defaultValue detected: when `createStore` returns a store synchronously, the suite creates
   * one while registering, looks for `storeBatch` and closes it; when it returns a promise, true.
   */
  readonly storeBatch?: boolean
  /**
   * Whether the store has the optional `getState`/`setState`. When false, the state cases are
   * registered as skipped with that reason; when true and either is missing, they fail.
   * @defaultValue detected like `storeBatch`
   */
  readonly state?: boolean
  /**
   * Whether the store has the optional `watch`. When false, the watch cases are registered as
   * skipped with that reason; when true and `watch` is missing, they fail.
   * @defaultValue detected like `storeBatch`
   */
  readonly watch?: boolean
  /**
   * Opens the database of a closed store again, for the durability cases: events, versions,
   * `latestVersion`, checkpoints and state must survive `close()` and reopen. The suite closes the
   * store first, then calls the hook with it (so the hook can look up which file or database that
   * store used). A string instead of a function skips those cases with that reason — e.g.
   * `'the memory store keeps nothing after close()'`.
   * @defaultValue the reopen cases are skipped, saying that no hook was given
   * @example
   * ```ts
   * import { openSqliteStore } from 'sync-kit/sqlite'
   *
   * const paths = new WeakMap<object, string>()
   * const options = {
   *   createStore: async () => {
   *     const path = freshTempFile()
   *     const store = await openSqliteStore({ path })
   *     paths.set(store, path)
   *     return store
   *   },
   *   reopen: async (closed: object) => openSqliteStore({ path: paths.get(closed) ?? '' }),
   * }
   * ```
   */
  readonly reopen?: ((store: EventStore) => EventStore | Promise<EventStore>) | string
}

/**
 * Names of the cases of {@link eventStoreConformance}, usable as keys of its `skip` option.
 * Cases marked "(batch)" need `storeBatch`.
 *
 * @example
 * ```ts
 * import { EVENT_STORE_CASES } from 'sync-kit/testing'
 *
 * const filterCases = EVENT_STORE_CASES.filter((name) => name.startsWith('filter'))
 * ```
 */
export const EVENT_STORE_CASES = [
  'store assigns increasing versions in order',
  'load(null) returns every event oldest first with the versions store returned',
  'load returns only events strictly after since',
  'load with limit 1 returns the oldest event after since',
  'load with limit equal to the number of events returns them all',
  'load since the latest version returns nothing',
  'load since a version beyond the latest returns nothing',
  'paging with limit visits every event exactly once',
  'a limit that is not a positive integer is rejected with invalid-argument',
  'a foreign version is rejected with version-mismatch',
  'storing an identical event again is a no-op reporting duplicate',
  'a different event under an existing id is rejected with event-id-conflict and changes nothing',
  'invalid events are rejected with invalid-event and nothing is stored',
  'storeBatch returns one result per event, in order, and a resent batch is all duplicates (batch)',
  'duplicates inside one batch are stored once (batch)',
  'a batch with one invalid event stores nothing (batch)',
  'a batch with an id conflict stores nothing (batch)',
  'filter by type',
  'filter by tenant matches metadata.tenant only',
  'filter by aggregate_id',
  'filters with the same key are OR-ed',
  'filters with different keys are AND-ed',
  'filters combine with since and limit',
  'a type filter also matches tombstones; tenant and aggregate_id filters still apply to them',
  'an unsupported filter key is rejected with unsupported-filter',
  'loadByAggregate returns that aggregate only, oldest first',
  'loadByAggregate honours since, limit and filters',
  'JSON data round-trips unchanged',
  'Unicode round-trips unchanged',
  'lone surrogates are preserved exactly or rejected with invalid-event',
  'metadata round-trips unchanged',
  'latestVersion is zero while empty and the newest version afterwards',
  'parseVersion round-trips versions',
  'parseVersion rejects garbage with version-parse',
  'a checkpoint is undefined until set',
  'checkpoints are kept per remote and direction and can be overwritten',
  'invalid checkpoints are rejected with invalid-argument',
  'storeBatch sets its checkpoint in the same atomic step (batch)',
  'a pre-aborted signal rejects every call with aborted and changes nothing',
  'after close every call rejects with closed, and close twice is fine',
  'values returned by the store cannot be changed to corrupt it',
  'state: an unknown key reads undefined; setState then getState returns an equal value',
  'state: setState with undefined deletes only that key',
  'state: values are copies that cannot be changed to corrupt the store',
  'state: bad keys and values that are not JSON are refused with invalid-argument',
  'epoch: the first candidate is kept; later candidates get it back',
  'epoch: renewEpoch replaces the epoch, keeps the events, and the new one is kept',
  'reopen keeps events, versions and latestVersion; new events go after them',
  'reopen keeps checkpoints, with their epochs',
  'reopen keeps a batch and its checkpoint together (batch)',
  'reopen keeps state (state)',
  'reopen keeps a renewed epoch',
  'watch: an append through the store wakes the listener, and the store then holds the event',
  'watch: a stopped watcher is not woken again; other watchers are',
  'watch: a listener that throws changes nothing: the append succeeds and others are woken',
  'watch: a listener that is not a function is refused with invalid-argument; after close, watch rejects with closed',
] as const

/** One case name of {@link eventStoreConformance}. */
export type EventStoreCaseName = (typeof EVENT_STORE_CASES)[number]

/** Every case, by name; each topic lives in a module of its own under `store-cases/`. */
const CASES: CaseTable = {
  ...APPEND_CASES,
  ...LOAD_CASES,
  ...BATCH_CASES,
  ...FILTERS_CASES,
  ...ROUND_TRIP_CASES,
  ...VERSIONS_CASES,
  ...CHECKPOINTS_CASES,
  ...LIFECYCLE_CASES,
  ...STATE_CASES,
  ...EPOCH_CASES,
  ...REOPEN_CASES,
  ...WATCH_CASES,
}

/**
 * Registers the event store conformance suite: runner-agnostic cases that check an
 * {@link EventStore} against its contract — versions and ordering, strictly-after loads and
 * paging, idempotency by id and conflicts, atomic batches, filters, per-aggregate loads, JSON,
 * Unicode and metadata round trips, versions parsing, checkpoints, abort, close, immutability
 * of returned values, a server's epoch (created once, renewed), the `watch` wake-ups, and with a
 * `reopen` hook what survives a close. Each case gets a fresh store from `createStore` and closes it afterwards.
 *
 * @param options - the store factory, the runner's functions and skips; see
 * {@link EventStoreConformanceOptions}.
 * @throws SyncKitError `invalid-argument` for malformed options, or for a `skip` naming an
 * unknown case or giving no reason.
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { createMemoryStore } from 'sync-kit'
 * import { eventStoreConformance } from 'sync-kit/testing'
 *
 * eventStoreConformance({
 *   name: 'memory',
 *   createStore: () => createMemoryStore(),
 *   test: {
 *     describe,
 *     it: (name, fn) => it(name, fn),
 *     skip: (name, reason) => it.skip(`${name} (${reason})`, () => {}),
 *   },
 * })
 * ```
 */
export function eventStoreConformance(options: EventStoreConformanceOptions): void {
  const suite = `event store conformance (${String((options as { name?: unknown } | null)?.name)})`
  checkOptions(suite, options)
  const skips = checkSkips(suite, EVENT_STORE_CASES, options.skip)
  const detected =
    options.storeBatch === undefined || options.state === undefined || options.watch === undefined
      ? detectCapabilities(options.createStore)
      : undefined
  const hasBatch = options.storeBatch ?? detected?.storeBatch ?? true
  const hasState = options.state ?? detected?.state ?? true
  const hasWatch = options.watch ?? detected?.watch ?? true
  const reopen = options.reopen
  const { test } = options

  test.describe(`event store conformance: ${options.name}`, () => {
    for (const name of EVENT_STORE_CASES) {
      const definition = CASES[name]
      if (definition === undefined) {
        throw new Error(`event store conformance: no body for case "${name}"`)
      }
      const reason = skips[name]
      if (reason !== undefined) {
        test.skip(name, reason)
      } else if (definition.batch === true && !hasBatch) {
        test.skip(name, 'the store has no storeBatch (optional capability)')
      } else if (definition.state === true && !hasState) {
        test.skip(name, 'the store has no getState/setState (optional capability)')
      } else if (definition.watch === true && !hasWatch) {
        test.skip(name, 'the store has no watch (optional capability)')
      } else if (definition.reopen === true && typeof reopen !== 'function') {
        test.skip(
          name,
          reopen ??
            'no reopen hook given: pass `reopen` to check that the store keeps its data across close and reopen',
        )
      } else {
        test.it(name, () => runCase(options.createStore, reopenHook(reopen), definition))
      }
    }
  })
}

type ReopenHook = (store: EventStore) => EventStore | Promise<EventStore>

function reopenHook(reopen: EventStoreConformanceOptions['reopen']): ReopenHook | undefined {
  return typeof reopen === 'function' ? reopen : undefined
}

async function runCase(
  createStore: () => EventStore | Promise<EventStore>,
  reopenStore: ReopenHook | undefined,
  definition: CaseDefinition,
): Promise<void> {
  const stores: EventStore[] = []
  const track = (store: unknown, what: string): EventStore => {
    if (
      typeof store !== 'object' ||
      store === null ||
      typeof (store as EventStore).store !== 'function'
    ) {
      fail(`${what} must return an EventStore, got ${store === null ? 'null' : typeof store}`)
    }
    stores.push(store as EventStore)
    return store as EventStore
  }
  const create = async (): Promise<EventStore> => track(await createStore(), 'createStore')
  const reopen = async (store: EventStore): Promise<EventStore> => {
    if (reopenStore === undefined) fail('this case needs the reopen hook')
    await store.close()
    return track(await reopenStore(store), 'reopen')
  }
  let failed = false
  let failure: unknown
  try {
    const store = await create()
    if (definition.batch === true && typeof store.storeBatch !== 'function') {
      fail('the store has no storeBatch; pass `storeBatch: false` to skip the batch cases')
    }
    await definition.run({ store, createStore: create, reopen })
  } catch (error) {
    failed = true
    failure = error
  }
  for (const store of stores) {
    try {
      await store.close()
    } catch (error) {
      // Report a failing close only when the case itself passed; never mask the case's failure.
      if (!failed) {
        failed = true
        failure = new ConformanceAssertionError(
          `close() must resolve (and be idempotent), but it rejected: ${String(error)}`,
          { cause: error },
        )
      }
    }
  }
  if (failed) throw failure
}

/** Which optional capabilities the store has, looked up once while the suite registers. */
function detectCapabilities(createStore: () => EventStore | Promise<EventStore>): {
  storeBatch: boolean
  state: boolean
  watch: boolean
} {
  const probe = createStore()
  if (typeof (probe as Promise<EventStore> | null)?.then === 'function') {
    // Cannot look without awaiting; the cases say how to opt out if this guess is wrong.
    ;(probe as Promise<EventStore>).then(
      (store) => store.close(),
      () => undefined,
    )
    return { storeBatch: true, state: true, watch: true }
  }
  const store = probe as EventStore
  const found = {
    storeBatch: typeof store.storeBatch === 'function',
    state: typeof store.getState === 'function' && typeof store.setState === 'function',
    watch: typeof store.watch === 'function',
  }
  store.close().catch(() => undefined)
  return found
}

function checkOptions(suite: string, options: EventStoreConformanceOptions): void {
  const bad = checkSuiteOptions(suite, options, 'createStore', 'EventStore')
  if (options.storeBatch !== undefined && typeof options.storeBatch !== 'boolean') {
    throw bad('storeBatch', 'storeBatch must be a boolean when given')
  }
  if (options.state !== undefined && typeof options.state !== 'boolean') {
    throw bad('state', 'state must be a boolean when given')
  }
  if (options.watch !== undefined && typeof options.watch !== 'boolean') {
    throw bad('watch', 'watch must be a boolean when given')
  }
  const reopen: unknown = options.reopen
  if (
    reopen !== undefined &&
    typeof reopen !== 'function' &&
    (typeof reopen !== 'string' || reopen === '')
  ) {
    throw bad('reopen', 'reopen must be a function reopening a closed store, or a reason to skip')
  }
}
