import { describe, expectTypeOf, it } from 'vitest'
import type {
  Checkpoint,
  Conflict,
  ConflictResolver,
  Event,
  EventStore,
  EventWithVersion,
  Filter,
  JsonValue,
  PullResult,
  ResolvedConflict,
  StoreResult,
  Transport,
  Version,
} from './index.js'

// Contracts only: this file imports nothing but the types, like the rest of src/types.
const version: Version = { compare: () => 0, toString: () => '0', isZero: () => true }

describe('EventStore', () => {
  it('is satisfied by an object literal, with or without storeBatch', () => {
    const store = {
      async store(): Promise<StoreResult> {
        return { version, duplicate: false }
      },
      async load(): Promise<EventWithVersion[]> {
        return []
      },
      async loadByAggregate(): Promise<EventWithVersion[]> {
        return []
      },
      async latestVersion(): Promise<Version> {
        return version
      },
      parseVersion: (value: string): Version => ({ ...version, toString: () => value }),
      async getCheckpoint(): Promise<Checkpoint | undefined> {
        return undefined
      },
      setCheckpoint: async (): Promise<void> => undefined,
      close: async (): Promise<void> => undefined,
    } satisfies EventStore
    expectTypeOf(store).toExtend<EventStore>()

    const withBatch = {
      ...store,
      async storeBatch(events: readonly Event[]): Promise<StoreResult[]> {
        return events.map(() => ({ version, duplicate: false }))
      },
    } satisfies EventStore
    expectTypeOf(withBatch).toExtend<EventStore>()
    expectTypeOf<EventStore['storeBatch']>().toExtend<((...args: never[]) => unknown) | undefined>()
  })

  it('rejects wrong shapes', () => {
    // @ts-expect-error -- load is missing
    const missingLoad: EventStore = {
      store: async () => ({ version, duplicate: false }),
      loadByAggregate: async () => [],
      latestVersion: async () => version,
      parseVersion: () => version,
      getCheckpoint: async () => undefined,
      setCheckpoint: async () => undefined,
      close: async () => undefined,
    }
    const wrongResult: EventStore = {
      // @ts-expect-error -- store must resolve to a StoreResult, not a version
      store: async () => version,
      load: async () => [],
      loadByAggregate: async () => [],
      latestVersion: async () => version,
      parseVersion: () => version,
      getCheckpoint: async () => undefined,
      setCheckpoint: async () => undefined,
      close: async () => undefined,
    }
    const syncLoad: EventStore = {
      store: async () => ({ version, duplicate: false }),
      // @ts-expect-error -- load must be asynchronous
      load: () => [],
      loadByAggregate: async () => [],
      latestVersion: async () => version,
      parseVersion: () => version,
      getCheckpoint: async () => undefined,
      setCheckpoint: async () => undefined,
      close: async () => undefined,
    }
    expectTypeOf([missingLoad, wrongResult, syncLoad]).toExtend<EventStore[]>()
  })
})

describe('Transport', () => {
  it('is satisfied by an object literal; subscribe is optional', () => {
    const transport = {
      async push(events: readonly Event[]) {
        return { stored: events.length, duplicates: 0 }
      },
      async pull(): Promise<PullResult> {
        return { events: [], hasMore: false }
      },
      async latestVersion(): Promise<Version> {
        return version
      },
      parseVersion: (value: string): Version => ({ ...version, toString: () => value }),
      close: async (): Promise<void> => undefined,
    } satisfies Transport
    expectTypeOf(transport).toExtend<Transport>()
  })

  it('rejects wrong shapes', () => {
    // @ts-expect-error -- pull is missing
    const missingPull: Transport = {
      push: async () => ({ stored: 0, duplicates: 0 }),
      latestVersion: async () => version,
      parseVersion: () => version,
      close: async () => undefined,
    }
    const wrongPull: Transport = {
      push: async () => ({ stored: 0, duplicates: 0 }),
      // @ts-expect-error -- pull resolves to a page ({ events, hasMore }), not an array
      pull: async () => [],
      latestVersion: async () => version,
      parseVersion: () => version,
      close: async () => undefined,
    }
    expectTypeOf([missingPull, wrongPull]).toExtend<Transport[]>()
  })
})

describe('ConflictResolver', () => {
  it('is satisfied by an object literal, with custom decisions', () => {
    const keepRemote = {
      async resolve(conflict: Conflict): Promise<ResolvedConflict> {
        return { resolvedEvents: [conflict.remote.event], decision: 'keep-remote', reasons: [] }
      },
    } satisfies ConflictResolver
    const custom = {
      async resolve(): Promise<ResolvedConflict> {
        return { resolvedEvents: [], decision: 'ask-the-user', reasons: ['ambiguous'] }
      },
    } satisfies ConflictResolver
    expectTypeOf([keepRemote, custom]).toExtend<ConflictResolver[]>()
  })

  it('rejects wrong shapes', () => {
    const syncResolve: ConflictResolver = {
      // @ts-expect-error -- resolve must return a promise
      resolve: () => ({ resolvedEvents: [], decision: 'merge', reasons: [] }),
    }
    const noDecision: ConflictResolver = {
      // @ts-expect-error -- decision is required
      resolve: async () => ({ resolvedEvents: [], reasons: [] }),
    }
    expectTypeOf([syncResolve, noDecision]).toExtend<ConflictResolver[]>()
  })
})

describe('Event and JSON values', () => {
  it('types data and type names through its generics', () => {
    const added: Event<'TodoAdded', { title: string }> = {
      id: 'e1',
      type: 'TodoAdded',
      aggregateId: 'todo-1',
      data: { title: 'Milk' },
    }
    expectTypeOf(added.data.title).toEqualTypeOf<string>()
    expectTypeOf(added).toExtend<Event>()
    const wrongType: Event<'TodoAdded'> = {
      id: 'e2',
      // @ts-expect-error -- the type name is fixed by the generic
      type: 'TodoRemoved',
      aggregateId: 'todo-1',
      data: null,
    }
    // @ts-expect-error -- aggregateId is required
    const missing: Event = { id: 'e3', type: 'T', data: null }
    expectTypeOf([wrongType, missing]).toExtend<Event[]>()
  })

  it('keeps JsonValue to JSON and metadata reserved keys to strings', () => {
    const ok: JsonValue = { a: [1, 'x', null, true, { b: [] }] }
    // @ts-expect-error -- functions are not JSON
    const fn: JsonValue = { f: () => 1 }
    // @ts-expect-error -- undefined is not JSON
    const undef: JsonValue = [undefined]
    const badTenant: Event = {
      id: 'e',
      type: 'T',
      aggregateId: 'a',
      data: null,
      // @ts-expect-error -- tenant is a string
      metadata: { tenant: 7 },
    }
    expectTypeOf([ok, fn, undef]).toExtend<JsonValue[]>()
    expectTypeOf(badTenant).toExtend<Event>()
  })

  it('accepts standard and adapter-specific filter keys', () => {
    const filters: Filter[] = [
      { key: 'type', value: 'A' },
      { key: 'tenant', value: 't' },
      { key: 'aggregate_id', value: 'a' },
      { key: 'my-adapter-key', value: 'x' },
    ]
    // @ts-expect-error -- values are strings
    const numeric: Filter = { key: 'type', value: 1 }
    expectTypeOf([...filters, numeric]).toExtend<Filter[]>()
  })
})
