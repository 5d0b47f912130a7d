/**
 * Helpers of the group commit tests (issue 10): events, a store that counts its `storeBatch`
 * calls, a feed that records what it hands over, a server with group commit, and how pushes
 * settled.
 */
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import type { Event, EventStore, EventWithVersion, JsonValue } from '../types/index.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import type { FeedBatch, SyncServer } from './index.js'
import { createSyncServer, groupCommit } from './index.js'

/** An event of type `T` on aggregate `a`. */
export const event = (id: string, data: Record<string, JsonValue> = { n: 1 }): Event => ({
  id,
  type: 'T',
  aggregateId: 'a',
  data,
})

/** The ids of events, in order. */
export const ids = (items: readonly EventWithVersion[]): string[] => items.map((i) => i.event.id)

/**
 * A store that counts its `storeBatch` calls and the events in each.
 * @param inner - the store that holds the events.
 * @returns the store and the events of each call.
 */
export function countingStore(inner: EventStore & Required<Pick<EventStore, 'storeBatch'>>): {
  store: EventStore
  calls: number[]
} {
  const calls: number[] = []
  const store: EventStore = {
    ...delegatingStore(inner),
    storeBatch: (events, options) => {
      calls.push(events.length)
      return inner.storeBatch(events, options)
    },
  }
  return { store, calls }
}

/**
 * Every batch a subscribed feed hands over, from the start of the log.
 * @param server - the server.
 * @returns the batches, filled as they come.
 */
export async function recordFeed(server: SyncServer): Promise<FeedBatch[]> {
  const batches: FeedBatch[] = []
  await server.subscribe(
    (batch) => {
      batches.push(batch)
    },
    { since: SequenceVersion.ZERO },
  )
  return batches
}

/**
 * A sole writer with group commit, epoch `e-1`.
 * @param store - its store.
 * @returns the server.
 */
export const grouped = (store: EventStore): SyncServer =>
  createSyncServer({ store, epoch: 'e-1', soleWriter: true, groupCommit: groupCommit() })

/**
 * How each push settled.
 * @param pushes - the pushes.
 * @returns each one's `{ stored, duplicates }`, or its error code.
 */
export async function outcomes(pushes: readonly Promise<unknown>[]): Promise<unknown[]> {
  return (await Promise.allSettled(pushes)).map((s) => {
    if (s.status === 'rejected') return (s.reason as { code?: unknown }).code
    const { stored, duplicates } = s.value as { stored: number; duplicates: number }
    return { stored, duplicates }
  })
}
