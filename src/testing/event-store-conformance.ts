import type {
  Checkpoint,
  Event,
  EventStore,
  EventWithVersion,
  JsonValue,
  StoreResult,
  Version,
} from '../types/index.js'
import {
  ConformanceAssertionError,
  assert,
  assertEqual,
  assertRejects,
  checkSkips,
  checkSuiteOptions,
  fail,
} from './conformance-api.js'
import type { ConformanceSkips, ConformanceTestApi } from './conformance-api.js'

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
] as const

/** One case name of {@link eventStoreConformance}. */
export type EventStoreCaseName = (typeof EVENT_STORE_CASES)[number]

interface CaseContext {
  /** The fresh store of the case. */
  readonly store: EventStore
  /** A further fresh store, closed when the case ends. */
  readonly createStore: () => Promise<EventStore>
}

interface CaseDefinition {
  /** Needs `storeBatch`. */
  readonly batch?: true
  readonly run: (context: CaseContext) => Promise<void>
}

/**
 * Registers the event store conformance suite: runner-agnostic cases that check an
 * {@link EventStore} against its contract — versions and ordering, strictly-after loads and
 * paging, idempotency by id and conflicts, atomic batches, filters, per-aggregate loads, JSON,
 * Unicode and metadata round trips, versions parsing, checkpoints, abort, close and immutability
 * of returned values. Each case gets a fresh store from `createStore` and closes it afterwards.
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
  const hasBatch = options.storeBatch ?? detectStoreBatch(options.createStore)
  const { test } = options

  test.describe(`event store conformance: ${options.name}`, () => {
    for (const name of EVENT_STORE_CASES) {
      const definition = CASES[name]
      const reason = skips[name]
      if (reason !== undefined) {
        test.skip(name, reason)
      } else if (definition.batch === true && !hasBatch) {
        test.skip(name, 'the store has no storeBatch (optional capability)')
      } else {
        test.it(name, () => runCase(options.createStore, definition))
      }
    }
  })
}

async function runCase(
  createStore: () => EventStore | Promise<EventStore>,
  definition: CaseDefinition,
): Promise<void> {
  const stores: EventStore[] = []
  const create = async (): Promise<EventStore> => {
    const store = await createStore()
    if (typeof store !== 'object' || store === null || typeof store.store !== 'function') {
      fail(`createStore must return an EventStore, got ${store === null ? 'null' : typeof store}`)
    }
    stores.push(store)
    return store
  }
  let failed = false
  let failure: unknown
  try {
    const store = await create()
    if (definition.batch === true && typeof store.storeBatch !== 'function') {
      fail('the store has no storeBatch; pass `storeBatch: false` to skip the batch cases')
    }
    await definition.run({ store, createStore: create })
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

function detectStoreBatch(createStore: () => EventStore | Promise<EventStore>): boolean {
  const probe = createStore()
  if (typeof (probe as Promise<EventStore> | null)?.then === 'function') {
    // Cannot look without awaiting; the batch cases say how to opt out if this guess is wrong.
    ;(probe as Promise<EventStore>).then(
      (store) => store.close(),
      () => undefined,
    )
    return true
  }
  const store = probe as EventStore
  const has = typeof store.storeBatch === 'function'
  store.close().catch(() => undefined)
  return has
}

function checkOptions(suite: string, options: EventStoreConformanceOptions): void {
  const bad = checkSuiteOptions(suite, options, 'createStore', 'EventStore')
  if (options.storeBatch !== undefined && typeof options.storeBatch !== 'boolean') {
    throw bad('storeBatch', 'storeBatch must be a boolean when given')
  }
}

// ---- fixtures and helpers ----------------------------------------------------------------------

function ev(id: string, overrides: Partial<Event> = {}): Event {
  return { id, type: 'ItemChanged', aggregateId: 'agg-1', data: { n: id }, ...overrides }
}

function evs(count: number, prefix = 'e'): Event[] {
  return Array.from({ length: count }, (_, i) => ev(`${prefix}${i + 1}`, { data: { n: i + 1 } }))
}

async function storeAll(store: EventStore, events: readonly Event[]): Promise<StoreResult[]> {
  const results: StoreResult[] = []
  for (const event of events) results.push(await store.store(event))
  return results
}

function batchOf(store: EventStore): NonNullable<EventStore['storeBatch']> {
  const storeBatch = store.storeBatch
  if (typeof storeBatch !== 'function') fail('the store has no storeBatch')
  return storeBatch.bind(store)
}

function ids(records: readonly EventWithVersion[]): string[] {
  return records.map((record) => record.event.id)
}

function versionsOf(records: readonly { readonly version: Version }[]): string[] {
  return records.map((record) => record.version.toString())
}

function assertIncreasing(versions: readonly Version[], what: string): void {
  for (let i = 0; i < versions.length; i++) {
    const version = versions[i] as Version
    assert(!version.isZero(), `${what}: version ${version.toString()} must not be the zero version`)
    const previous = versions[i - 1]
    if (previous !== undefined) {
      assert(
        version.compare(previous) > 0 && previous.compare(version) < 0,
        `${what}: version ${version.toString()} must be greater than ${previous.toString()}`,
      )
    }
  }
}

function assertSameVersion(actual: Version, expected: Version, what: string): void {
  assert(
    actual.compare(expected) === 0 && actual.toString() === expected.toString(),
    `${what}: expected version ${expected.toString()}, got ${actual.toString()}`,
  )
}

/** The content of an event as the contract defines it: metadata `{}` counts as absent. */
function content(event: Event): Record<string, unknown> {
  const metadata = event.metadata
  const hasMetadata = metadata !== undefined && Object.keys(metadata).length > 0
  return {
    id: event.id,
    type: event.type,
    aggregateId: event.aggregateId,
    data: event.data,
    ...(hasMetadata ? { metadata } : {}),
  }
}

function assertEvents(
  actual: readonly EventWithVersion[],
  expected: readonly Event[],
  what: string,
): void {
  assertEqual(ids(actual), eventIds(expected), `${what}: event ids`)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as EventWithVersion
    assertEqual(content(a.event), content(expected[i] as Event), `${what}: event "${a.event.id}"`)
  }
}

function eventIds(events: readonly Event[]): string[] {
  return events.map((event) => event.id)
}

async function assertEmpty(store: EventStore, what: string): Promise<void> {
  assertEqual(ids(await store.load(null)), [], `${what}: load(null) must return nothing`)
  const latest = await store.latestVersion()
  assert(latest.isZero(), `${what}: latestVersion must stay zero, got ${latest.toString()}`)
}

/** Runs a mutation that a frozen value refuses (TypeError in strict mode); either way is fine. */
function tryMutate(mutate: () => void): void {
  try {
    mutate()
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
  }
}

/** A version of a kind no store produces. */
const FOREIGN_VERSION: Version = {
  compare(): -1 | 0 | 1 {
    throw new Error('a conformance store compared a foreign version instead of rejecting it')
  },
  toString: () => 'foreign-version:7',
  isZero: () => false,
}

/** Six events for the filter cases: type × aggregate × tenant. */
const FILTER_FIXTURE: readonly Event[] = [
  ev('f1', { type: 'A', aggregateId: 'x', metadata: { tenant: 't1' } }),
  ev('f2', { type: 'B', aggregateId: 'x', metadata: { tenant: 't1' } }),
  ev('f3', { type: 'A', aggregateId: 'y', metadata: { tenant: 't2' } }),
  ev('f4', { type: 'C', aggregateId: 'y' }),
  ev('f5', { type: 'B', aggregateId: 'z', metadata: { tenant: 't2' } }),
  ev('f6', { type: 'A', aggregateId: 'x', metadata: { tenant: 't2' } }),
]

async function withFilterFixture(store: EventStore): Promise<StoreResult[]> {
  return storeAll(store, FILTER_FIXTURE)
}

const JSON_DATA: JsonValue = {
  nested: { a: { b: { c: [1, [2, [3, {}]]] } } },
  array: [1, 'two', null, true, false, { x: [] }, [[]]],
  nothing: null,
  numbers: [
    0,
    1,
    -1,
    1.5,
    -2.25,
    0.1,
    1e-7,
    123456789.125,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    1e300,
    -1e-300,
    5e-324,
    Number.MAX_VALUE,
  ],
  emptyObject: {},
  emptyArray: [],
  emptyString: '',
  escapes: 'quote " backslash \\ slash / newline \n tab \t cr \r',
  control: '\u0001\u001f\u007f',
  bool: true,
  'key with spaces': 1,
  '': 'empty key',
  '0': 'numeric key',
}

const UNICODE = {
  emoji: '😀👩‍👩‍👧‍👦🏳️‍🌈',
  combining: 'e\u0301 a\u0308 n\u0303 (decomposed), é ä ñ (composed)',
  rtl: 'שלום עולם مرحبا \u202Ebidi override\u202C',
  nul: 'before\u0000after',
  astral: '𝌆 𐍈 🀄',
  cjk: '漢字かなカナ한국어',
} as const

// ---- the cases ---------------------------------------------------------------------------------

const CASES: Readonly<Record<EventStoreCaseName, CaseDefinition>> = {
  'store assigns increasing versions in order': {
    async run({ store }) {
      const results = await storeAll(store, evs(5))
      for (const result of results) {
        assertEqual(result.duplicate, false, 'a new event must report duplicate: false')
      }
      assertIncreasing(
        results.map((r) => r.version),
        'versions of consecutive stores',
      )
    },
  },

  'load(null) returns every event oldest first with the versions store returned': {
    async run({ store }) {
      const events = evs(5)
      const results = await storeAll(store, events)
      const loaded = await store.load(null)
      assertEvents(loaded, events, 'load(null)')
      assertEqual(versionsOf(loaded), versionsOf(results), 'loaded versions')
      assertIncreasing(
        loaded.map((r) => r.version),
        'loaded versions',
      )
    },
  },

  'load returns only events strictly after since': {
    async run({ store }) {
      const events = evs(6)
      const results = await storeAll(store, events)
      for (let i = 0; i < results.length; i++) {
        const since = (results[i] as StoreResult).version
        const loaded = await store.load(since)
        assertEvents(loaded, events.slice(i + 1), `load(${since.toString()})`)
        for (const record of loaded) {
          assert(
            record.version.compare(since) > 0,
            `load(${since.toString()}) returned version ${record.version.toString()}, which is not after it`,
          )
        }
      }
    },
  },

  'load with limit 1 returns the oldest event after since': {
    async run({ store }) {
      const events = evs(4)
      const results = await storeAll(store, events)
      assertEvents(await store.load(null, { limit: 1 }), events.slice(0, 1), 'load(null, 1)')
      const since = (results[1] as StoreResult).version
      assertEvents(await store.load(since, { limit: 1 }), events.slice(2, 3), 'load(v2, 1)')
    },
  },

  'load with limit equal to the number of events returns them all': {
    async run({ store }) {
      const events = evs(7)
      await storeAll(store, events)
      assertEvents(await store.load(null, { limit: 7 }), events, 'load(null, 7)')
      assertEvents(await store.load(null, { limit: 1000 }), events, 'load(null, 1000)')
    },
  },

  'load since the latest version returns nothing': {
    async run({ store }) {
      await storeAll(store, evs(3))
      const latest = await store.latestVersion()
      assertEqual(ids(await store.load(latest)), [], 'load(latest)')
      assertEqual(ids(await store.load(latest, { limit: 1 })), [], 'load(latest, 1)')
    },
  },

  'load since a version beyond the latest returns nothing': {
    async run({ store, createStore }) {
      // A version from a longer log of the same kind of store is beyond this store's latest.
      const results = await storeAll(store, evs(5))
      const beyond = (results[4] as StoreResult).version
      const other = await createStore()
      await storeAll(other, evs(2))
      const latest = await other.latestVersion()
      const loaded = await other.load(beyond)
      const expected = (await other.load(null)).filter((r) => r.version.compare(beyond) > 0)
      assertEqual(ids(loaded), ids(expected), 'load(beyond) returns only events after it')
      if (latest.compare(beyond) <= 0) {
        assertEqual(ids(loaded), [], `load(${beyond.toString()}) past latest ${latest.toString()}`)
      }
    },
  },

  'paging with limit visits every event exactly once': {
    async run({ store }) {
      const events = evs(23)
      await storeAll(store, events)
      for (const limit of [1, 5, 23, 50]) {
        const seen: EventWithVersion[] = []
        let since: Version | null = null
        for (let page = 0; ; page++) {
          assert(page <= 23, `paging with limit ${limit} does not end`)
          const records = await store.load(since, { limit })
          assert(records.length <= limit, `a page with limit ${limit} had ${records.length} events`)
          const last = records.at(-1)
          if (last === undefined) break
          seen.push(...records)
          since = last.version
        }
        assertEvents(seen, events, `paging with limit ${limit}`)
        assertIncreasing(
          seen.map((r) => r.version),
          `paging with limit ${limit}`,
        )
      }
    },
  },

  'a limit that is not a positive integer is rejected with invalid-argument': {
    async run({ store }) {
      await storeAll(store, evs(2))
      for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assertRejects(
          () => store.load(null, { limit }),
          'invalid-argument',
          `load with limit ${limit}`,
        )
        await assertRejects(
          () => store.loadByAggregate('agg-1', null, { limit }),
          'invalid-argument',
          `loadByAggregate with limit ${limit}`,
        )
      }
    },
  },

  'a foreign version is rejected with version-mismatch': {
    async run({ store }) {
      await storeAll(store, evs(2))
      await assertRejects(() => store.load(FOREIGN_VERSION), 'version-mismatch', 'load(foreign)')
      await assertRejects(
        () => store.loadByAggregate('agg-1', FOREIGN_VERSION),
        'version-mismatch',
        'loadByAggregate(foreign)',
      )
    },
  },

  'storing an identical event again is a no-op reporting duplicate': {
    async run({ store }) {
      const event = ev('dup', { data: { a: 1, b: [true] }, metadata: { tenant: 't', x: 1 } })
      const first = await store.store(event)
      await store.store(ev('other'))
      // Same content, keys in another order: still the same event.
      const again = await store.store({
        metadata: { x: 1, tenant: 't' },
        data: { b: [true], a: 1 },
        aggregateId: event.aggregateId,
        type: event.type,
        id: event.id,
      })
      assertEqual(again.duplicate, true, 'storing the same event again reports duplicate')
      assertSameVersion(again.version, first.version, 'a duplicate reports the stored version')
      assertEvents(await store.load(null), [event, ev('other')], 'after the duplicate')
    },
  },

  'a different event under an existing id is rejected with event-id-conflict and changes nothing': {
    async run({ store }) {
      const original = ev('c1', { data: { v: 1 }, metadata: { tenant: 't' } })
      await store.store(original)
      const latest = await store.latestVersion()
      for (const changed of [
        { ...original, data: { v: 2 } },
        { ...original, type: 'Other' },
        { ...original, aggregateId: 'agg-2' },
        { ...original, metadata: { tenant: 'u' } },
      ]) {
        const error = await assertRejects(
          () => store.store(changed),
          'event-id-conflict',
          'storing different content under an existing id',
        )
        assertEqual(error.details.eventId, 'c1', 'event-id-conflict details.eventId')
      }
      assertEvents(await store.load(null), [original], 'after the conflicts')
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after the conflicts')
    },
  },

  'invalid events are rejected with invalid-event and nothing is stored': {
    async run({ store }) {
      const cyclic: Record<string, unknown> = {}
      cyclic['self'] = cyclic
      const invalid: readonly [string, unknown][] = [
        ['null', null],
        ['a string', 'event'],
        ['no id', { type: 'T', aggregateId: 'a', data: {} }],
        ['an empty id', ev('')],
        ['a numeric id', { ...ev('x'), id: 42 }],
        ['an empty type', ev('x', { type: '' })],
        ['no aggregateId', { id: 'x', type: 'T', data: {} }],
        ['an empty aggregateId', ev('x', { aggregateId: '' })],
        ['no data', { id: 'x', type: 'T', aggregateId: 'a' }],
        ['a function in data', ev('x', { data: { f: () => 1 } })],
        ['NaN in data', ev('x', { data: { n: Number.NaN } })],
        ['Infinity in data', ev('x', { data: [Number.POSITIVE_INFINITY] })],
        ['a bigint in data', ev('x', { data: { n: 1n } })],
        ['a cycle in data', ev('x', { data: cyclic })],
        ['a Date in data', ev('x', { data: { at: new Date(0) } })],
        ['a Map in data', ev('x', { data: new Map([['k', 1]]) })],
        ['undefined in an array', ev('x', { data: [1, undefined] })],
        ['metadata that is not an object', { ...ev('x'), metadata: 'meta' }],
        ['a numeric tenant', { ...ev('x'), metadata: { tenant: 7 } }],
      ]
      for (const [what, event] of invalid) {
        await assertRejects(
          () => store.store(event as Event),
          'invalid-event',
          `storing an event with ${what}`,
        )
      }
      await assertEmpty(store, 'after invalid events')
    },
  },

  'storeBatch returns one result per event, in order, and a resent batch is all duplicates (batch)':
    {
      batch: true,
      async run({ store }) {
        const storeBatch = batchOf(store)
        await store.store(ev('e0'))
        const events = evs(4)
        const results = await storeBatch(events)
        assertEqual(results.length, 4, 'one result per event')
        assertEqual(
          results.map((r) => r.duplicate),
          [false, false, false, false],
          'new events are not duplicates',
        )
        assertIncreasing(
          results.map((r) => r.version),
          'batch versions',
        )
        const loaded = await store.load(null)
        assertEvents(loaded, [ev('e0'), ...events], 'after the batch')
        assertEqual(versionsOf(loaded.slice(1)), versionsOf(results), 'batch versions vs load')
        const resent = await storeBatch(events)
        assertEqual(
          resent.map((r) => r.duplicate),
          [true, true, true, true],
          'a resent batch is all duplicates',
        )
        assertEqual(versionsOf(resent), versionsOf(results), 'duplicates report stored versions')
        assertEqual(await storeBatch([]), [], 'an empty batch returns no results')
        assertEqual((await store.load(null)).length, 5, 'nothing more stored')
      },
    },

  'duplicates inside one batch are stored once (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      const a = ev('a', { data: { k: 1 } })
      const b = ev('b')
      const results = await storeBatch([a, b, { ...a, data: { k: 1 } }, a])
      assertEqual(
        results.map((r) => r.duplicate),
        [false, false, true, true],
        'later copies in the batch are duplicates',
      )
      const [first, , third, fourth] = results as [
        StoreResult,
        StoreResult,
        StoreResult,
        StoreResult,
      ]
      assertSameVersion(third.version, first.version, 'an in-batch duplicate reports the version')
      assertSameVersion(fourth.version, first.version, 'an in-batch duplicate reports the version')
      assertEvents(await store.load(null), [a, b], 'after the batch')
      await assertRejects(
        () => storeBatch([ev('c'), ev('c', { data: 'different' })]),
        'event-id-conflict',
        'a batch holding two different events with the same id',
      )
      assertEvents(await store.load(null), [a, b], 'after the conflicting batch')
    },
  },

  'a batch with one invalid event stores nothing (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      await store.store(ev('e0'))
      const latest = await store.latestVersion()
      for (const position of [0, 1, 2]) {
        const batch: unknown[] = [ev('b1'), ev('b2'), ev('b3')]
        batch[position] = ev(`bad${position}`, { data: { n: Number.NaN } })
        await assertRejects(
          () => storeBatch(batch as Event[]),
          'invalid-event',
          `a batch with an invalid event at position ${position}`,
        )
      }
      assertEvents(await store.load(null), [ev('e0')], 'after the rejected batches')
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after the batches')
    },
  },

  'a batch with an id conflict stores nothing (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      const original = ev('e0', { data: 'original' })
      await store.store(original)
      const latest = await store.latestVersion()
      await assertRejects(
        () => storeBatch([ev('b1'), ev('b2'), ev('e0', { data: 'changed' }), ev('b3')]),
        'event-id-conflict',
        'a batch conflicting with a stored event',
      )
      assertEvents(await store.load(null), [original], 'after the rejected batch')
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after the batch')
      // Nothing half-stored: the same new events can be stored afterwards as new ones.
      const results = await storeBatch([ev('b1'), ev('b2')])
      assertEqual(
        results.map((r) => r.duplicate),
        [false, false],
        'events of the rejected batch were not stored',
      )
    },
  },

  'filter by type': {
    async run({ store }) {
      await withFilterFixture(store)
      const loaded = await store.load(null, { filters: [{ key: 'type', value: 'A' }] })
      assertEqual(ids(loaded), ['f1', 'f3', 'f6'], 'type A')
      const none = await store.load(null, { filters: [{ key: 'type', value: 'Nope' }] })
      assertEqual(ids(none), [], 'an unknown type')
    },
  },

  'filter by tenant matches metadata.tenant only': {
    async run({ store }) {
      await withFilterFixture(store)
      const t2 = await store.load(null, { filters: [{ key: 'tenant', value: 't2' }] })
      assertEqual(ids(t2), ['f3', 'f5', 'f6'], 'tenant t2')
      const empty = await store.load(null, { filters: [{ key: 'tenant', value: '' }] })
      assertEqual(ids(empty), [], 'an event without a tenant never matches a tenant filter')
    },
  },

  'filter by aggregate_id': {
    async run({ store }) {
      await withFilterFixture(store)
      const x = await store.load(null, { filters: [{ key: 'aggregate_id', value: 'x' }] })
      assertEqual(ids(x), ['f1', 'f2', 'f6'], 'aggregate x')
    },
  },

  'filters with the same key are OR-ed': {
    async run({ store }) {
      await withFilterFixture(store)
      const loaded = await store.load(null, {
        filters: [
          { key: 'type', value: 'B' },
          { key: 'type', value: 'C' },
        ],
      })
      assertEqual(ids(loaded), ['f2', 'f4', 'f5'], 'type B or C')
      const aggregates = await store.load(null, {
        filters: [
          { key: 'aggregate_id', value: 'z' },
          { key: 'aggregate_id', value: 'x' },
          { key: 'aggregate_id', value: 'x' },
        ],
      })
      assertEqual(ids(aggregates), ['f1', 'f2', 'f5', 'f6'], 'aggregate z or x, oldest first')
    },
  },

  'filters with different keys are AND-ed': {
    async run({ store }) {
      await withFilterFixture(store)
      const loaded = await store.load(null, {
        filters: [
          { key: 'type', value: 'A' },
          { key: 'type', value: 'B' },
          { key: 'tenant', value: 't1' },
        ],
      })
      assertEqual(ids(loaded), ['f1', 'f2'], '(type A or B) and tenant t1')
      const three = await store.load(null, {
        filters: [
          { key: 'tenant', value: 't2' },
          { key: 'aggregate_id', value: 'x' },
          { key: 'type', value: 'A' },
        ],
      })
      assertEqual(ids(three), ['f6'], 'tenant t2 and aggregate x and type A')
      const none = await store.load(null, {
        filters: [
          { key: 'type', value: 'C' },
          { key: 'tenant', value: 't1' },
        ],
      })
      assertEqual(ids(none), [], 'type C and tenant t1')
    },
  },

  'filters combine with since and limit': {
    async run({ store }) {
      const results = await withFilterFixture(store)
      const typeA = [{ key: 'type', value: 'A' }] as const
      const afterF1 = (results[0] as StoreResult).version
      assertEqual(ids(await store.load(afterF1, { filters: typeA })), ['f3', 'f6'], 'after f1')
      assertEqual(
        ids(await store.load(afterF1, { filters: typeA, limit: 1 })),
        ['f3'],
        'after f1, limit 1',
      )
      const afterF4 = (results[3] as StoreResult).version
      assertEqual(
        ids(await store.load(afterF4, { filters: [{ key: 'tenant', value: 't2' }], limit: 5 })),
        ['f5', 'f6'],
        'tenant t2 after f4',
      )
      const latest = await store.latestVersion()
      assertEqual(ids(await store.load(latest, { filters: typeA })), [], 'after the latest')
    },
  },

  'an unsupported filter key is rejected with unsupported-filter': {
    async run({ store }) {
      await withFilterFixture(store)
      const filters = [
        { key: 'type', value: 'A' },
        { key: 'sync-kit-conformance-unknown-key', value: 'x' },
      ]
      const error = await assertRejects(
        () => store.load(null, { filters }),
        'unsupported-filter',
        'load with an unknown filter key',
      )
      assertEqual(error.details.key, 'sync-kit-conformance-unknown-key', 'details.key')
      await assertRejects(
        () => store.loadByAggregate('x', null, { filters }),
        'unsupported-filter',
        'loadByAggregate with an unknown filter key',
      )
    },
  },

  'loadByAggregate returns that aggregate only, oldest first': {
    async run({ store }) {
      const results = await withFilterFixture(store)
      const x = await store.loadByAggregate('x', null)
      assertEvents(
        x,
        FILTER_FIXTURE.filter((e) => e.aggregateId === 'x'),
        'aggregate x',
      )
      assertEqual(
        versionsOf(x),
        versionsOf([results[0], results[1], results[5]] as StoreResult[]),
        'aggregate x versions',
      )
      assertEqual(ids(await store.loadByAggregate('y', null)), ['f3', 'f4'], 'aggregate y')
      assertEqual(ids(await store.loadByAggregate('unknown', null)), [], 'an unknown aggregate')
    },
  },

  'loadByAggregate honours since, limit and filters': {
    async run({ store }) {
      const results = await withFilterFixture(store)
      const afterF1 = (results[0] as StoreResult).version
      assertEqual(ids(await store.loadByAggregate('x', afterF1)), ['f2', 'f6'], 'x after f1')
      assertEqual(ids(await store.loadByAggregate('x', null, { limit: 2 })), ['f1', 'f2'], 'x, 2')
      assertEqual(
        ids(await store.loadByAggregate('x', afterF1, { limit: 1 })),
        ['f2'],
        'x after f1, limit 1',
      )
      assertEqual(
        ids(await store.loadByAggregate('x', null, { filters: [{ key: 'type', value: 'A' }] })),
        ['f1', 'f6'],
        'x, type A',
      )
      assertEqual(
        ids(
          await store.loadByAggregate('x', null, {
            filters: [{ key: 'aggregate_id', value: 'y' }],
          }),
        ),
        [],
        'x and aggregate_id y',
      )
      const latest = await store.latestVersion()
      assertEqual(ids(await store.loadByAggregate('x', latest)), [], 'x after the latest')
    },
  },

  'JSON data round-trips unchanged': {
    async run({ store }) {
      const events = [
        ev('j1', { data: JSON_DATA }),
        ev('j2', { data: null }),
        ev('j3', { data: 0 }),
        ev('j4', { data: -12.5 }),
        ev('j5', { data: 'just a string' }),
        ev('j6', { data: [] }),
        ev('j7', { data: {} }),
        ev('j8', { data: false }),
        ev('j9', { data: [[[[[[[[[['deep']]]]]]]]]] }),
      ]
      await storeAll(store, events)
      assertEvents(await store.load(null), events, 'JSON values')
      assertEvents(await store.loadByAggregate('agg-1', null), events, 'JSON values by aggregate')
    },
  },

  'Unicode round-trips unchanged': {
    async run({ store }) {
      const all = Object.values(UNICODE).join(' | ')
      const events = [
        ev(`ü-${UNICODE.emoji}-${UNICODE.rtl.slice(0, 9)}`, {
          type: `Typ${UNICODE.combining.slice(0, 2)}`,
          aggregateId: `agg-${UNICODE.cjk}-${UNICODE.astral}`,
          data: { ...UNICODE, all, [UNICODE.emoji]: UNICODE.nul, [UNICODE.nul]: UNICODE.rtl },
          metadata: { tenant: `tenant-${UNICODE.emoji}`, [UNICODE.cjk]: UNICODE.combining },
        }),
      ]
      await storeAll(store, events)
      assertEvents(await store.load(null), events, 'Unicode strings')
      const first = events[0] as Event
      assertEvents(
        await store.loadByAggregate(first.aggregateId, null),
        events,
        'Unicode aggregate id',
      )
      assertEvents(
        await store.load(null, {
          filters: [
            { key: 'type', value: first.type },
            { key: 'tenant', value: `tenant-${UNICODE.emoji}` },
          ],
        }),
        events,
        'Unicode filter values',
      )
    },
  },

  'lone surrogates are preserved exactly or rejected with invalid-event': {
    async run({ store }) {
      // sync-kit's own stores reject lone surrogates (they cannot be encoded as UTF-8); a store
      // may instead keep them exactly. What it must not do is change them silently.
      const samples = ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF', 'end\uD83D']
      let n = 0
      for (const sample of samples) {
        for (const event of [
          ev(`lone-data-${++n}`, { data: { s: sample } }),
          ev(`lone-key-${++n}`, { data: { [sample]: 1 } }),
          ev(`lone-meta-${++n}`, { metadata: { note: sample } }),
          ev(`lone-id-${sample}`),
        ]) {
          let stored = true
          try {
            await store.store(event)
          } catch (error) {
            stored = false
            await assertRejects(
              () => Promise.reject(error),
              'invalid-event',
              `storing a lone surrogate in "${JSON.stringify(event.id)}"`,
            )
          }
          const loaded = (await store.load(null)).filter((r) => r.event.id === event.id)
          if (stored) assertEvents(loaded, [event], 'a lone surrogate kept')
          else assertEqual(ids(loaded), [], 'a rejected event is not stored')
        }
      }
    },
  },

  'metadata round-trips unchanged': {
    async run({ store }) {
      const events = [
        ev('m1', {
          metadata: {
            tenant: 'tenant-1',
            hlc: '018f2a3b4c5d-0001-replica-a',
            origin: 'replica-a',
            causal: 'replica-a:3,replica-b:1',
            custom: { nested: [1, 'x', null, { deep: true }] },
            n: 0,
            flag: false,
          },
        }),
        ev('m2'),
        ev('m3', { metadata: { only: 'custom' } }),
      ]
      await storeAll(store, events)
      const loaded = await store.load(null)
      assertEvents(loaded, events, 'metadata')
      const m2 = loaded[1]?.event.metadata
      assert(
        m2 === undefined || Object.keys(m2).length === 0,
        `an event stored without metadata must come back without metadata (or with {}), got ${JSON.stringify(m2)}`,
      )
    },
  },

  'latestVersion is zero while empty and the newest version afterwards': {
    async run({ store }) {
      const empty = await store.latestVersion()
      assert(
        empty.isZero(),
        `latestVersion of an empty store must be zero, got ${empty.toString()}`,
      )
      assertEqual(ids(await store.load(empty)), [], 'load(zero) of an empty store')
      const results = await storeAll(store, evs(3))
      const latest = await store.latestVersion()
      assert(!latest.isZero(), 'latestVersion must not be zero once events exist')
      assertSameVersion(latest, (results[2] as StoreResult).version, 'latestVersion')
      assert(latest.compare(empty) > 0, 'latestVersion must be after the zero version')
      await store.store(ev('e1', { data: { n: 1 } }))
      assertSameVersion(await store.latestVersion(), latest, 'latestVersion after a duplicate')
      const loaded = await store.load(empty)
      assertEqual(ids(loaded), ['e1', 'e2', 'e3'], 'load(zero) returns everything')
    },
  },

  'parseVersion round-trips versions': {
    async run({ store }) {
      const zero = await store.latestVersion()
      const results = await storeAll(store, evs(3))
      for (const version of [zero, ...results.map((r) => r.version)]) {
        const parsed = store.parseVersion(version.toString())
        assertSameVersion(parsed, version, `parseVersion("${version.toString()}")`)
        assertEqual(parsed.isZero(), version.isZero(), 'isZero after parseVersion')
      }
      const middle = store.parseVersion((results[0] as StoreResult).version.toString())
      assertEqual(ids(await store.load(middle)), ['e2', 'e3'], 'load(parsed version)')
    },
  },

  'parseVersion rejects garbage with version-parse': {
    async run({ store }) {
      for (const garbage of [
        '',
        'not-a-version',
        '-1',
        '1.5',
        '0x10',
        ' 1',
        '1 ',
        '💥',
        '\u0000',
      ]) {
        const error = await assertRejects(
          () => store.parseVersion(garbage),
          'version-parse',
          `parseVersion(${JSON.stringify(garbage)})`,
        )
        assertEqual(typeof error.details.value, 'string', 'version-parse details.value')
      }
    },
  },

  'a checkpoint is undefined until set': {
    async run({ store }) {
      for (const direction of ['push', 'pull'] as const) {
        const checkpoint = await store.getCheckpoint({ remote: 'server', direction })
        assertEqual(checkpoint, undefined, `${direction} checkpoint of a fresh store`)
      }
    },
  },

  'checkpoints are kept per remote and direction and can be overwritten': {
    async run({ store }) {
      const set = (remote: string, direction: 'push' | 'pull', value: Checkpoint): Promise<void> =>
        store.setCheckpoint({ remote, direction }, value)
      const get = (remote: string, direction: 'push' | 'pull'): Promise<Checkpoint | undefined> =>
        store.getCheckpoint({ remote, direction })
      await set('https://a.example/sync', 'push', { version: '12' })
      await set('https://a.example/sync', 'pull', { version: 'remote-7', epoch: 'epoch-1' })
      await set('b', 'pull', { version: '3' })
      assertEqual(await get('https://a.example/sync', 'push'), { version: '12' }, 'a push')
      assertEqual(
        await get('https://a.example/sync', 'pull'),
        { version: 'remote-7', epoch: 'epoch-1' },
        'a pull',
      )
      assertEqual(await get('b', 'pull'), { version: '3' }, 'b pull')
      assertEqual(await get('b', 'push'), undefined, 'b push was never set')
      await set('https://a.example/sync', 'pull', { version: 'remote-9' })
      assertEqual(
        await get('https://a.example/sync', 'pull'),
        { version: 'remote-9' },
        'an overwritten checkpoint (the old epoch is gone)',
      )
      assertEqual(await get('https://a.example/sync', 'push'), { version: '12' }, 'a push kept')
    },
  },

  'invalid checkpoints are rejected with invalid-argument': {
    async run({ store }) {
      const good = { remote: 'server', direction: 'pull' } as const
      const badKeys: unknown[] = [
        null,
        { remote: '', direction: 'pull' },
        { remote: 7, direction: 'pull' },
        { remote: 'server', direction: 'sideways' },
        { remote: 'server' },
      ]
      for (const key of badKeys) {
        await assertRejects(
          () => store.setCheckpoint(key as typeof good, { version: '1' }),
          'invalid-argument',
          `setCheckpoint with key ${JSON.stringify(key)}`,
        )
        await assertRejects(
          () => store.getCheckpoint(key as typeof good),
          'invalid-argument',
          `getCheckpoint with key ${JSON.stringify(key)}`,
        )
      }
      const badValues: unknown[] = [
        null,
        {},
        { version: 5 },
        { version: '5', epoch: 9 },
        'version 5',
      ]
      for (const value of badValues) {
        await assertRejects(
          () => store.setCheckpoint(good, value as Checkpoint),
          'invalid-argument',
          `setCheckpoint with value ${JSON.stringify(value)}`,
        )
      }
      assertEqual(await store.getCheckpoint(good), undefined, 'no checkpoint was set')
    },
  },

  'storeBatch sets its checkpoint in the same atomic step (batch)': {
    batch: true,
    async run({ store }) {
      const storeBatch = batchOf(store)
      const key = { remote: 'server', direction: 'pull' } as const
      await storeBatch([ev('e1'), ev('e2')], {
        checkpoint: { key, value: { version: 'r2', epoch: 'ep' } },
      })
      assertEqual(await store.getCheckpoint(key), { version: 'r2', epoch: 'ep' }, 'checkpoint')
      await assertRejects(
        () =>
          storeBatch([ev('e3'), ev('e1', { data: 'changed' })], {
            checkpoint: { key, value: { version: 'r4' } },
          }),
        'event-id-conflict',
        'a conflicting batch with a checkpoint',
      )
      assertEqual(
        await store.getCheckpoint(key),
        { version: 'r2', epoch: 'ep' },
        'a rejected batch leaves the checkpoint as it was',
      )
      await assertRejects(
        () =>
          storeBatch([ev('e3')], {
            checkpoint: { key: { remote: '', direction: 'pull' }, value: { version: 'r3' } },
          }),
        'invalid-argument',
        'a batch with an invalid checkpoint',
      )
      assertEqual(ids(await store.load(null)), ['e1', 'e2'], 'rejected batches stored nothing')
      await storeBatch([], { checkpoint: { key, value: { version: 'r5' } } })
      assertEqual(await store.getCheckpoint(key), { version: 'r5' }, 'an empty batch checkpoint')
    },
  },

  'a pre-aborted signal rejects every call with aborted and changes nothing': {
    async run({ store }) {
      await store.store(ev('e0'))
      const controller = new AbortController()
      controller.abort(new Error('stop'))
      const signal = controller.signal
      const key = { remote: 'server', direction: 'push' } as const
      const calls: readonly (readonly [string, () => Promise<unknown>])[] = [
        ['store', () => store.store(ev('e1'), { signal })],
        ['load', () => store.load(null, { signal })],
        ['loadByAggregate', () => store.loadByAggregate('agg-1', null, { signal })],
        ['latestVersion', () => store.latestVersion({ signal })],
        ['getCheckpoint', () => store.getCheckpoint(key, { signal })],
        ['setCheckpoint', () => store.setCheckpoint(key, { version: '1' }, { signal })],
        ...(typeof store.storeBatch === 'function'
          ? ([
              [
                'storeBatch',
                () =>
                  batchOf(store)([ev('e2'), ev('e3')], {
                    signal,
                    checkpoint: { key, value: { version: '9' } },
                  }),
              ],
            ] as const)
          : []),
      ]
      for (const [name, call] of calls) {
        await assertRejects(call, 'aborted', `${name} with an aborted signal`)
      }
      assertEvents(await store.load(null), [ev('e0')], 'after the aborted calls')
      assertEqual(await store.getCheckpoint(key), undefined, 'no checkpoint after aborted calls')
    },
  },

  'after close every call rejects with closed, and close twice is fine': {
    async run({ store }) {
      await store.store(ev('e0'))
      await store.setCheckpoint({ remote: 'r', direction: 'push' }, { version: '1' })
      await store.close()
      await store.close()
      const key = { remote: 'r', direction: 'push' } as const
      const calls: readonly (readonly [string, () => Promise<unknown>])[] = [
        ['store', () => store.store(ev('e1'))],
        ['load', () => store.load(null)],
        ['loadByAggregate', () => store.loadByAggregate('agg-1', null)],
        ['latestVersion', () => store.latestVersion()],
        ['getCheckpoint', () => store.getCheckpoint(key)],
        ['setCheckpoint', () => store.setCheckpoint(key, { version: '2' })],
        ...(typeof store.storeBatch === 'function'
          ? ([['storeBatch', () => batchOf(store)([ev('e2')])]] as const)
          : []),
      ]
      for (const [name, call] of calls) {
        await assertRejects(call, 'closed', `${name} after close`)
      }
    },
  },

  'values returned by the store cannot be changed to corrupt it': {
    async run({ store }) {
      const input = {
        id: 'v1',
        type: 'T',
        aggregateId: 'agg-1',
        data: { list: [1, 2], nested: { s: 'original' } },
        metadata: { tenant: 't', extra: { k: 'v' } },
      }
      const snapshot = JSON.parse(JSON.stringify(input)) as Event
      const result = await store.store(input)
      // The caller changes its own object after storing it.
      input.data.list.push(3)
      input.data.nested.s = 'changed by the caller'
      input.metadata.extra.k = 'changed'
      const expectedVersion = result.version.toString()
      for (const loaded of [
        await store.load(null),
        await store.loadByAggregate('agg-1', null),
        await store.load(null, { filters: [{ key: 'tenant', value: 't' }] }),
      ]) {
        const record = loaded[0] as EventWithVersion
        const event = record.event as unknown as typeof input
        tryMutate(() => event.data.list.push(99))
        tryMutate(() => {
          event.data.nested.s = 'changed by a reader'
        })
        tryMutate(() => {
          ;(event as { id: string }).id = 'hijacked'
        })
        tryMutate(() => {
          event.metadata.extra.k = 'changed by a reader'
        })
        tryMutate(() => {
          delete (event.metadata as { tenant?: string }).tenant
        })
        tryMutate(() => {
          ;(record as { version: unknown }).version = 'not a version'
        })
        tryMutate(() => {
          ;(record.version as unknown as { value: unknown }).value = 12345
        })
        tryMutate(() => loaded.splice(0, 1))
      }
      const checkpoint = { version: '1', epoch: 'e' }
      const key = { remote: 'r', direction: 'pull' } as const
      await store.setCheckpoint(key, checkpoint)
      checkpoint.version = 'changed by the caller'
      const got = await store.getCheckpoint(key)
      tryMutate(() => {
        ;(got as { version: string }).version = 'changed by a reader'
      })
      const after = await store.load(null)
      assertEvents(after, [snapshot], 'the stored event after the mutations')
      assertEqual(versionsOf(after), [expectedVersion], 'the stored version after the mutations')
      assertEqual(
        ids(await store.load(null, { filters: [{ key: 'tenant', value: 't' }] })),
        ['v1'],
        'the tenant index after the mutations',
      )
      assertEqual(
        await store.getCheckpoint(key),
        { version: '1', epoch: 'e' },
        'the checkpoint after the mutations',
      )
    },
  },
}
