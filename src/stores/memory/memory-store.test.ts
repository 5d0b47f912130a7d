import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { ConformanceTestApi } from '../../testing/index.js'
import { EVENT_STORE_CASES, eventStoreConformance } from '../../testing/index.js'
import type {
  Event,
  EventStore,
  EventWithVersion,
  Filter,
  StoreBatchOptions,
  Version,
} from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { createMemoryStore } from './index.js'
import type { MemoryStore } from './index.js'

// The memory store runs the conformance suite exactly as a third-party store would.
eventStoreConformance({
  name: 'memory',
  createStore: () => createMemoryStore(),
  reopen: 'the memory store keeps nothing after close()',
  test: {
    describe,
    it: (name, fn) => it(name, fn),
    skip: (name, reason) => it.skip(`${name} (${reason})`, () => undefined),
  },
})

// The same store seen through a wrapper without the optional storeBatch: the batch cases are
// skipped on their own and every other case must pass without it.
eventStoreConformance({
  name: 'memory without storeBatch',
  createStore: () => withoutBatch(createMemoryStore()),
  reopen: 'the memory store keeps nothing after close()',
  test: {
    describe,
    it: (name, fn) => it(name, fn),
    skip: (name, reason) => it.skip(`${name} (${reason})`, () => undefined),
  },
})

function withoutBatch(inner: EventStore): EventStore {
  return {
    store: (event, options) => inner.store(event, options),
    load: (since, options) => inner.load(since, options),
    loadByAggregate: (aggregateId, since, options) =>
      inner.loadByAggregate(aggregateId, since, options),
    latestVersion: (options) => inner.latestVersion(options),
    parseVersion: (value) => inner.parseVersion(value),
    getCheckpoint: (key, options) => inner.getCheckpoint(key, options),
    setCheckpoint: (key, value, options) => inner.setCheckpoint(key, value, options),
    getState: (key, options) => inner.getState?.(key, options) ?? Promise.resolve(undefined),
    setState: (key, value, options) => inner.setState?.(key, value, options) ?? Promise.resolve(),
    watch: (listener, options) => {
      if (inner.watch === undefined) throw new Error('the wrapped store has no watch')
      return inner.watch(listener, options)
    },
    close: () => inner.close(),
  }
}

/** A reopen hook for registration-only tests: never run, it only makes the reopen cases register. */
const registerReopen = (): EventStore => createMemoryStore()

function ev(id: string, overrides: Partial<Event> = {}): Event {
  return { id, type: 'T', aggregateId: 'a1', data: { id }, ...overrides }
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    if (isSyncKitError(error)) return error.code
    throw error
  }
  throw new Error('expected a SyncKitError, but the call succeeded')
}

describe('memory store', () => {
  it('numbers events 1, 2, 3 … and reports its size', async () => {
    // Given an empty store
    const store = createMemoryStore()
    expect(store.size).toBe(0)
    // When three events are stored, one of them twice
    const results = [
      await store.store(ev('e1')),
      await store.store(ev('e2')),
      await store.store(ev('e1')),
      ...(await store.storeBatch([ev('e3')])),
    ]
    // Then the versions are positions and duplicates do not count
    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['1', false],
      ['2', false],
      ['1', true],
      ['3', false],
    ])
    expect(results[0]?.version).toBeInstanceOf(SequenceVersion)
    expect(store.size).toBe(3)
    expect((await store.latestVersion()).toString()).toBe('3')
  })

  it('accepts versions past 2^53 and returns nothing after them', async () => {
    // Given a store with events
    const store = createMemoryStore()
    await store.storeBatch([ev('e1'), ev('e2')])
    const huge = store.parseVersion('9007199254740993')
    // When loading after a version far beyond the latest
    // Then nothing is returned, by any load
    expect(huge.toString()).toBe('9007199254740993')
    expect(await store.load(huge)).toEqual([])
    expect(await store.load(huge, { filters: [{ key: 'type', value: 'T' }] })).toEqual([])
    expect(await store.loadByAggregate('a1', huge)).toEqual([])
    expect(await store.load(store.parseVersion('2'))).toEqual([])
  })

  it('accepts a sequence version from another copy of the package by its string form', async () => {
    const store = createMemoryStore()
    await store.storeBatch([ev('e1'), ev('e2'), ev('e3')])
    const foreignCopy: Version = {
      compare: () => 0,
      toString: () => '1',
      isZero: () => false,
    }
    expect((await store.load(foreignCopy)).map((r) => r.event.id)).toEqual(['e2', 'e3'])
    expect(await codeOf(store.load({ ...foreignCopy, toString: () => 'abc' }))).toBe(
      'version-mismatch',
    )
  })

  it('rejects lone surrogates (they cannot be stored losslessly elsewhere)', async () => {
    // sync-kit's stores agree: the memory store rejects what SQLite and HTTP could not keep.
    const store = createMemoryStore()
    expect(await codeOf(store.store(ev('e1', { data: { s: '\uD800' } })))).toBe('invalid-event')
    expect(await codeOf(store.store(ev('\uDC00')))).toBe('invalid-event')
    expect(store.size).toBe(0)
  })

  it('hands out the same frozen record of a deep-frozen event on every load', async () => {
    // Given a stored event
    const store = createMemoryStore()
    const stored = await store.store(
      ev('e1', { data: { list: [{ a: 1 }] }, metadata: { tenant: 't' } }),
    )
    // When it is loaded twice
    const [first] = await store.load(null)
    const [second] = await store.loadByAggregate('a1', null)
    // Then the record is shared, not made per read, and it and its event are deeply frozen
    const a = first as EventWithVersion
    const b = second as EventWithVersion
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
    expect(() => {
      ;(a as { version: unknown }).version = 'not a version'
    }).toThrow(TypeError)
    expect(Object.isFrozen(a.event)).toBe(true)
    expect(Object.isFrozen(a.event.metadata)).toBe(true)
    const data = a.event.data as { list: { a: number }[] }
    expect(Object.isFrozen(data.list)).toBe(true)
    expect(Object.isFrozen(data.list[0])).toBe(true)
    expect(() => {
      data.list.push({ a: 2 })
    }).toThrow(TypeError)
    // And the version is the one the append reported, which no reader can change
    expect(a.version).toBe(stored.version)
    expect(() => {
      ;(a.version as unknown as { value: bigint }).value = 99n
    }).toThrow(TypeError) // `value` is a read-only accessor
    expect((await store.load(null))[0]?.version.toString()).toBe('1')
    expect((await store.latestVersion()).toString()).toBe('1')
  })

  it('keeps checkpoints as frozen copies', async () => {
    const store = createMemoryStore()
    const key = { remote: 'r', direction: 'pull' } as const
    const value = { version: '5', epoch: 'x' }
    await store.setCheckpoint(key, value)
    const got = await store.getCheckpoint(key)
    expect(got).toEqual({ version: '5', epoch: 'x' })
    expect(got).not.toBe(value)
    expect(Object.isFrozen(got)).toBe(true)
  })

  it('keeps state values as deep-frozen copies with sorted keys', async () => {
    const store = createMemoryStore() as Required<Pick<EventStore, 'getState' | 'setState'>>
    const value = { b: [{ c: 1 }], a: 'x' }
    await store.setState('k', value)
    const got = (await store.getState('k')) as { b: { c: number }[]; a: string }
    expect(got).toEqual(value)
    expect(got).not.toBe(value)
    expect(Object.keys(got)).toEqual(['a', 'b'])
    expect([got, got.b, got.b[0]].every((part) => Object.isFrozen(part))).toBe(true)
  })

  it('rejects malformed arguments with invalid-argument', async () => {
    const store = createMemoryStore()
    expect(await codeOf(store.storeBatch(ev('e1') as unknown as Event[]))).toBe('invalid-argument')
    expect(await codeOf(store.loadByAggregate('', null))).toBe('invalid-argument')
    expect(await codeOf(store.loadByAggregate(7 as unknown as string, null))).toBe(
      'invalid-argument',
    )
    expect(
      await codeOf(
        store.storeBatch([ev('e1')], { checkpoint: null } as unknown as StoreBatchOptions),
      ),
    ).toBe('invalid-argument')
    expect(await codeOf(store.load(null, { filters: 'type=T' as unknown as Filter[] }))).toBe(
      'invalid-argument',
    )
    expect(await codeOf(() => createMemoryStore({ name: 5 as unknown as string }))).toBe(
      'invalid-argument',
    )
    expect(store.size).toBe(0)
  })

  it('names itself in error messages', async () => {
    const store = createMemoryStore({ name: 'replica-a' })
    const error: unknown = await store.store(ev('')).catch((e: unknown) => e)
    expect(isSyncKitError(error, 'invalid-event')).toBe(true)
    expect((error as Error).message).toMatch(
      /^\[sync-kit\] \[memory:replica-a\] event has an empty id/,
    )
    await store.close()
    const closed: unknown = await store.load(null).catch((e: unknown) => e)
    expect((closed as Error).message).toMatch(
      /^\[sync-kit\] \[memory:replica-a\] load was called after close/,
    )
  })

  it('releases its events on close and still parses versions', async () => {
    const store = createMemoryStore()
    await store.storeBatch([ev('e1'), ev('e2')])
    await store.close()
    expect(store.size).toBe(0)
    expect(store.parseVersion('2').toString()).toBe('2')
    expect(await codeOf(store.storeBatch([]))).toBe('closed')
  })

  it('reports the abort reason as the cause', async () => {
    const store = createMemoryStore()
    const reason = new Error('user navigated away')
    const error: unknown = await store
      .load(null, { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e)
    expect(isSyncKitError(error, 'aborted')).toBe(true)
    expect((error as Error).cause).toBe(reason)
  })

  it('keeps its indexes right after a rejected batch (rollback)', async () => {
    // Given events in two tenants
    const store = createMemoryStore()
    await store.storeBatch([
      ev('e1', { type: 'A', metadata: { tenant: 't1' } }),
      ev('e2', { type: 'B', aggregateId: 'a2', metadata: { tenant: 't2' } }),
    ])
    // When a batch appends to every index and then hits an id conflict
    const rejected = store.storeBatch([
      ev('n1', { type: 'A', metadata: { tenant: 't1' } }),
      ev('n2', { type: 'C', aggregateId: 'a3', metadata: { tenant: 't3' } }),
      ev('e2', { data: 'changed' }),
    ])
    expect(await codeOf(rejected)).toBe('event-id-conflict')
    // Then no trace of it is left, and the next events get the next positions
    expect(store.size).toBe(2)
    expect(await store.load(null, { filters: [{ key: 'tenant', value: 't3' }] })).toEqual([])
    expect(await store.loadByAggregate('a3', null)).toEqual([])
    const [n1] = await store.storeBatch([ev('n1', { type: 'A', metadata: { tenant: 't1' } })])
    expect(n1).toMatchObject({ duplicate: false })
    expect(n1?.version.toString()).toBe('3')
    const typeA = await store.load(null, { filters: [{ key: 'type', value: 'A' }] })
    expect(typeA.map((r) => [r.event.id, r.version.toString()])).toEqual([
      ['e1', '1'],
      ['n1', '3'],
    ])
  })

  it('answers every load like a naive scan of the whole log (model-based property)', async () => {
    const types = ['A', 'B', 'C']
    const tenants = ['t1', 't2', undefined]
    const aggregates = Array.from({ length: 12 }, (_, i) => `g${i}`)
    const eventArb = fc
      .record({
        n: fc.nat({ max: 60 }),
        type: fc.constantFrom(...types),
        tenant: fc.constantFrom(...tenants),
        aggregateId: fc.constantFrom(...aggregates),
        payload: fc.nat({ max: 2 }),
      })
      .map(({ n, type, tenant, aggregateId, payload }) =>
        ev(`id${n}`, {
          type,
          aggregateId,
          data: { payload },
          ...(tenant === undefined ? {} : { metadata: { tenant } }),
        }),
      )
    const filterArb = fc.array(
      fc.oneof(
        fc.record({ key: fc.constant('type'), value: fc.constantFrom(...types, 'Z') }),
        fc.record({ key: fc.constant('tenant'), value: fc.constantFrom('t1', 't2', 'tx') }),
        fc.record({ key: fc.constant('aggregate_id'), value: fc.constantFrom(...aggregates) }),
      ),
      { maxLength: 12 },
    )
    const queryArb = fc.record({
      since: fc.nat({ max: 70 }),
      limit: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
      filters: filterArb,
      aggregateId: fc.option(fc.constantFrom(...aggregates), { nil: undefined }),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(eventArb, { maxLength: 8 }), { maxLength: 12 }),
        fc.array(queryArb, { minLength: 1, maxLength: 10 }),
        async (batches, queries) => {
          // Given a store and a model fed with the same batches (some rejected as conflicts)
          const store = createMemoryStore()
          const model: Event[] = []
          for (const batch of batches) {
            const known = new Map(model.map((e) => [e.id, e]))
            let conflict = false
            for (const e of batch) {
              const prior = known.get(e.id)
              if (prior !== undefined && JSON.stringify(prior) !== JSON.stringify(e)) {
                conflict = true
              }
              if (prior === undefined) known.set(e.id, e)
            }
            const outcome = await store.storeBatch(batch).then(
              () => 'stored',
              (error: unknown) => (isSyncKitError(error) ? error.code : 'other'),
            )
            expect(outcome).toBe(conflict ? 'event-id-conflict' : 'stored')
            if (!conflict)
              for (const e of batch) if (!model.some((m) => m.id === e.id)) model.push(e)
          }
          expect(store.size).toBe(model.length)
          // When queried, Then every answer equals a filter over the model
          for (const q of queries) {
            const since = store.parseVersion(String(q.since))
            const options = {
              filters: q.filters,
              ...(q.limit === undefined ? {} : { limit: q.limit }),
            }
            const matches = (e: Event): boolean => {
              const keys = new Set(q.filters.map((f) => f.key))
              return [...keys].every((key) =>
                q.filters.some(
                  (f) =>
                    f.key === key &&
                    f.value ===
                      (key === 'type'
                        ? e.type
                        : key === 'tenant'
                          ? e.metadata?.tenant
                          : e.aggregateId),
                ),
              )
            }
            const expected = model
              .map((event, i) => ({ id: event.id, version: String(i + 1), event }))
              .slice(q.since)
              .filter(
                ({ event }) => q.aggregateId === undefined || event.aggregateId === q.aggregateId,
              )
              .filter(({ event }) => matches(event))
              .slice(0, q.limit ?? Infinity)
              .map(({ id, version }) => [id, version])
            const actual =
              q.aggregateId === undefined
                ? await store.load(since, options)
                : await store.loadByAggregate(q.aggregateId, since, options)
            expect(actual.map((r) => [r.event.id, r.version.toString()])).toEqual(expected)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('eventStoreConformance registration', () => {
  interface Registered {
    readonly its: Map<string, () => Promise<void>>
    readonly skips: Map<string, string>
    readonly describes: string[]
  }

  function recorder(): { api: ConformanceTestApi; registered: Registered } {
    const registered: Registered = { its: new Map(), skips: new Map(), describes: [] }
    const api: ConformanceTestApi = {
      describe: (name, fn) => {
        registered.describes.push(name)
        fn()
      },
      it: (name, fn) => registered.its.set(name, fn),
      skip: (name, reason) => registered.skips.set(name, reason),
    }
    return { api, registered }
  }

  it('registers every case once, under one describe, with at least 25 cases', () => {
    const { api, registered } = recorder()
    eventStoreConformance({
      name: 'memory',
      createStore: () => createMemoryStore(),
      reopen: registerReopen,
      test: api,
    })
    expect(registered.describes).toEqual(['event store conformance: memory'])
    expect([...registered.its.keys()]).toEqual([...EVENT_STORE_CASES])
    expect(registered.skips.size).toBe(0)
    expect(new Set(EVENT_STORE_CASES).size).toBe(EVENT_STORE_CASES.length)
    expect(EVENT_STORE_CASES.length).toBeGreaterThanOrEqual(25)
  })

  it('skips the named cases with their reasons', () => {
    const { api, registered } = recorder()
    eventStoreConformance({
      name: 'memory',
      createStore: () => createMemoryStore(),
      reopen: registerReopen,
      test: api,
      skip: { 'filter by type': 'because this test says so' },
    })
    expect(registered.skips).toEqual(new Map([['filter by type', 'because this test says so']]))
    expect(registered.its.has('filter by type')).toBe(false)
  })

  it('rejects an unknown case name or an empty reason in skip, so typos never skip silently', async () => {
    const { api } = recorder()
    const register = (skip: Record<string, string>) => () =>
      eventStoreConformance({ name: 'm', createStore: () => createMemoryStore(), test: api, skip })
    expect(await codeOf(register({ 'filter by typo': 'x' }))).toBe('invalid-argument')
    expect(await codeOf(register({ 'filter by type': ' ' }))).toBe('invalid-argument')
  })

  it('rejects malformed options', async () => {
    const { api } = recorder()
    const bad = [
      null,
      { name: '', createStore: () => createMemoryStore(), test: api },
      { name: 'm', createStore: 'store', test: api },
      { name: 'm', createStore: () => createMemoryStore(), test: { describe: () => undefined } },
      { name: 'm', createStore: () => createMemoryStore(), test: api, storeBatch: 'yes' },
    ]
    for (const options of bad) {
      expect(
        await codeOf(() =>
          eventStoreConformance(options as Parameters<typeof eventStoreConformance>[0]),
        ),
      ).toBe('invalid-argument')
    }
  })

  it('skips the batch cases with a reason for a store without storeBatch', () => {
    const { api, registered } = recorder()
    eventStoreConformance({
      name: 'no batch',
      createStore: () => withoutBatch(createMemoryStore()),
      reopen: registerReopen,
      test: api,
    })
    const batchCases = EVENT_STORE_CASES.filter((name) => name.endsWith('(batch)'))
    expect(batchCases.length).toBeGreaterThanOrEqual(5)
    expect([...registered.skips.keys()]).toEqual(batchCases)
    for (const reason of registered.skips.values()) expect(reason).toMatch(/no storeBatch/)
  })

  it('fails the batch cases with advice when an async factory hides a missing storeBatch', async () => {
    const { api, registered } = recorder()
    eventStoreConformance({
      name: 'async no batch',
      createStore: async () => withoutBatch(createMemoryStore()),
      test: api,
    })
    const run = registered.its.get('duplicates inside one batch are stored once (batch)')
    await expect(run?.()).rejects.toThrow(/storeBatch: false/)
  })

  it('closes every store it created, even when a case fails', async () => {
    const { api, registered } = recorder()
    const created: { closed: boolean }[] = []
    eventStoreConformance({
      name: 'tracked',
      storeBatch: true,
      state: false,
      // Given, so that no store is created to detect it (the count below is of the cases' stores).
      watch: true,
      createStore: () => {
        const inner = createMemoryStore()
        const tracked = { closed: false }
        created.push(tracked)
        const store: EventStore = {
          ...withoutBatch(inner),
          storeBatch: (events, options) => inner.storeBatch(events, options),
          // A broken load makes the cases that load fail.
          load: async () => [],
          close: async () => {
            tracked.closed = true
            await inner.close()
          },
        }
        return store
      },
      test: api,
    })
    await expect(
      registered.its.get('load since a version beyond the latest returns nothing')?.(),
    ).resolves.toBeUndefined()
    await expect(
      registered.its.get(
        'load(null) returns every event oldest first with the versions store returned',
      )?.(),
    ).rejects.toThrow(/event ids/)
    expect(created.length).toBe(3)
    expect(created.every((c) => c.closed)).toBe(true)
  })

  it('fails the reopen cases for a store that forgets checkpoints or its latest version on reopen', async () => {
    // Given a "durable" store whose reopen keeps the events but loses what else it should keep
    const disks = new WeakMap<object, MemoryStore>()
    const durable = (
      disk: MemoryStore,
      forget: 'checkpoints' | 'latest' | 'nothing',
    ): EventStore => {
      const view: EventStore = {
        ...withoutBatch(disk),
        storeBatch: (events, options) => disk.storeBatch(events, options),
        getCheckpoint: (key, options) =>
          forget === 'checkpoints' ? Promise.resolve(undefined) : disk.getCheckpoint(key, options),
        latestVersion: (options) =>
          forget === 'latest' ? Promise.resolve(SequenceVersion.ZERO) : disk.latestVersion(options),
        close: async () => undefined, // the "disk" outlives the handle
      }
      disks.set(view, disk)
      return view
    }
    const run = async (
      forget: 'checkpoints' | 'latest' | 'nothing',
      name: string,
    ): Promise<void> => {
      const { api, registered } = recorder()
      eventStoreConformance({
        name: 'durable',
        createStore: () => durable(createMemoryStore(), 'nothing'),
        reopen: (closed) => durable(disks.get(closed) ?? createMemoryStore(), forget),
        test: api,
      })
      await registered.its.get(name)?.()
    }
    // When the reopen cases run, Then only a store that keeps everything passes them
    const events = 'reopen keeps events, versions and latestVersion; new events go after them'
    const checkpoints = 'reopen keeps checkpoints, with their epochs'
    await expect(run('nothing', events)).resolves.toBeUndefined()
    await expect(run('nothing', checkpoints)).resolves.toBeUndefined()
    await expect(run('latest', events)).rejects.toThrow(/latestVersion after reopen/)
    await expect(run('checkpoints', checkpoints)).rejects.toThrow(/checkpoint after reopen/)
  })

  // Regression guard for the suite itself: each broken store must fail the case that targets its
  // defect, so the cases really assert something.
  const broken: readonly [string, string, (inner: EventStore) => Partial<EventStore>][] = [
    [
      'load includes the since event',
      'load returns only events strictly after since',
      (inner) => ({
        load: async (since, options) => {
          const all = await inner.load(null, options)
          return since === null ? all : all.filter((r) => r.version.compare(since) >= 0)
        },
      }),
    ],
    [
      'store is not idempotent',
      'storing an identical event again is a no-op reporting duplicate',
      (inner) => ({
        store: async (event, options) => ({
          ...(await inner.store(event, options)),
          duplicate: false,
        }),
      }),
    ],
    [
      'filters are ignored',
      'filter by type',
      (inner) => ({ load: (since, options) => inner.load(since, { ...options, filters: [] }) }),
    ],
    [
      'unknown filter keys are ignored',
      'an unsupported filter key is rejected with unsupported-filter',
      (inner) => ({
        load: (since, options) =>
          inner.load(since, {
            ...options,
            filters: (options?.filters ?? []).filter((f) => f.key === 'type'),
          }),
      }),
    ],
    [
      'signals are ignored',
      'a pre-aborted signal rejects every call with aborted and changes nothing',
      (inner) => ({ store: (event) => inner.store(event) }),
    ],
    [
      'limit is ignored',
      'load with limit 1 returns the oldest event after since',
      (inner) => ({ load: (since) => inner.load(since) }),
    ],
    [
      'checkpoints are not kept per direction',
      'checkpoints are kept per remote and direction and can be overwritten',
      (inner) => ({
        getCheckpoint: (key, options) =>
          inner.getCheckpoint({ ...key, direction: 'push' }, options),
        setCheckpoint: (key, value, options) =>
          inner.setCheckpoint({ ...key, direction: 'push' }, value, options),
      }),
    ],
    [
      'loaded events are shared and mutable',
      'values returned by the store cannot be changed to corrupt it',
      (inner) => {
        let cache: EventWithVersion[] | undefined
        return {
          load: async (since, options) => {
            cache ??= (await inner.load(null)).map((r) => ({
              version: r.version,
              event: JSON.parse(JSON.stringify(r.event)) as Event,
            }))
            return since === null && options?.filters === undefined
              ? cache
              : inner.load(since, options)
          },
        }
      },
    ],
  ]

  it.each(broken)('fails a store where %s', async (_defect, caseName, patch) => {
    const { api, registered } = recorder()
    eventStoreConformance({
      name: 'broken',
      createStore: () => {
        const inner = createMemoryStore()
        return { ...withoutBatch(inner), storeBatch: inner.storeBatch.bind(inner), ...patch(inner) }
      },
      test: api,
    })
    const run = registered.its.get(caseName)
    expect(run).toBeDefined()
    await expect(run?.()).rejects.toThrow()
  })
})
