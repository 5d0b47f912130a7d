import type {
  Event,
  EventStore,
  EventWithVersion,
  StoreResult,
  Version,
} from '../../types/index.js'
import { assert, assertEqual, fail } from '../conformance-api.js'

// Shared by the cases of the event store conformance suite (one module, no copies): fixtures,
// and assertions on versions and events. Internal: not exported from `sync-kit/testing`.

/** What a case gets: its fresh store, and a way to make more. */
export interface CaseContext {
  /** The fresh store of the case. */
  readonly store: EventStore
  /** A further fresh store, closed when the case ends. */
  readonly createStore: () => Promise<EventStore>
  /**
   * Closes `store` and opens its database again through the suite's `reopen` hook; the reopened
   * store is closed when the case ends. Only cases marked `reopen` may call it.
   */
  readonly reopen: (store: EventStore) => Promise<EventStore>
}

/** One case of the event store suite. */
export interface CaseDefinition {
  /** Needs `storeBatch`. */
  readonly batch?: true
  /** Needs the optional `getState`/`setState`. */
  readonly state?: true
  /** Needs the optional `watch`. */
  readonly watch?: true
  /** Needs the suite's `reopen` hook (a durable store). */
  readonly reopen?: true
  readonly run: (context: CaseContext) => Promise<void>
}

/** Cases of one topic, by case name (a name of `EVENT_STORE_CASES`). */
export type CaseTable = Readonly<Record<string, CaseDefinition>>

export function ev(id: string, overrides: Partial<Event> = {}): Event {
  return { id, type: 'ItemChanged', aggregateId: 'agg-1', data: { n: id }, ...overrides }
}

export function evs(count: number, prefix = 'e'): Event[] {
  return Array.from({ length: count }, (_, i) => ev(`${prefix}${i + 1}`, { data: { n: i + 1 } }))
}

export async function storeAll(
  store: EventStore,
  events: readonly Event[],
): Promise<StoreResult[]> {
  const results: StoreResult[] = []
  for (const event of events) results.push(await store.store(event))
  return results
}

export function batchOf(store: EventStore): NonNullable<EventStore['storeBatch']> {
  const storeBatch = store.storeBatch
  if (typeof storeBatch !== 'function') fail('the store has no storeBatch')
  return storeBatch.bind(store)
}

export function ids(records: readonly EventWithVersion[]): string[] {
  return records.map((record) => record.event.id)
}

export function versionsOf(records: readonly { readonly version: Version }[]): string[] {
  return records.map((record) => record.version.toString())
}

export function assertIncreasing(versions: readonly Version[], what: string): void {
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

export function assertSameVersion(actual: Version, expected: Version, what: string): void {
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

export function assertEvents(
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
