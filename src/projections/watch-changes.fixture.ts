// Helpers of the change API suites (test/watch-changes.cases.fixture.ts, test/keep-current.cases.fixture.ts):
// a listener that records changes, and waits.
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import type { Event, EventStore, Transport } from '../types/index.js'
import type { StoreChange } from './watch-changes.js'

/** What the change API suites run on (the callers are tests: they may import adapters). */
export interface ChangeSuiteOptions {
  /** Names the store in the report. */
  readonly name: string
  /** Opens a fresh, empty store for one case (the suite closes it afterwards). */
  readonly openStore: () => Promise<EventStore>
  /** A new loopback hub (`createLoopbackHub`), for the cases with a `SyncManager` pulling. */
  readonly createHub: () => { connect(clientId: string): Transport }
}

/** An event of aggregate `aggregateId` (default `a`). */
export function ev(id: string, aggregateId = 'a', type = 'Changed'): Event {
  return { id, type, aggregateId, data: { [id]: true } }
}

/**
 * Waits until `condition` holds, checking after every macrotask turn.
 * @param condition - what to wait for.
 * @param what - names it in the failure.
 * @param timeoutMs - how long to wait.
 */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** Lets every pending read and delivery run (a few macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0))
}

/** Records the changes a listener gets. */
export function changeRecorder(): {
  readonly changes: StoreChange[]
  readonly listener: (change: StoreChange) => void
  /** Every delivered event id, in delivery order. */
  ids(): string[]
} {
  const changes: StoreChange[] = []
  return {
    changes,
    listener: (change) => {
      changes.push(change)
    },
    ids: () => changes.flatMap((change) => change.events.map((item) => item.event.id)),
  }
}

/** A store forwarding every member of `inner`, its watch included, so a test can replace some. */
export function delegating(inner: EventStore): EventStore {
  if (inner.storeBatch === undefined) throw new Error('the store under test has no storeBatch')
  return {
    ...delegatingStore(inner as EventStore & Required<Pick<EventStore, 'storeBatch'>>),
    watch: (listener, options) => {
      if (inner.watch === undefined) throw new Error('the store under test has no watch')
      return inner.watch(listener, options)
    },
  }
}

/** One macrotask turn. */
export function settleOnce(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}
