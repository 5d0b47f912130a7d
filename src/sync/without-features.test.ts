/**
 * A manager made without the feature modules (no `refusalList()`, no `durableConflicts()`, no
 * `liveMode()`) must still skip nothing silently (issue 9 §5): a pulled event the local store
 * refuses keeps the pull cursor at it, so it is fetched again once the store accepts it.
 */
import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { EventStore } from '../types/index.js'
import { SyncManager } from './sync-manager.js'

const notYet = (id: string) => new SyncKitError('invalid-event', 'not yet', { eventId: id })

/**
 * A memory store that refuses events of type `Later` while `accepts()` is false, with or without
 * `storeBatch` (a batch holding such an event is refused as a whole, as real stores do).
 */
function refusing(accepts: () => boolean, batch: boolean): EventStore {
  const inner = createMemoryStore()
  const base: EventStore = delegatingStore(inner)
  delete (base as { storeBatch?: unknown }).storeBatch
  const store: EventStore['store'] = (event, o) =>
    event.type === 'Later' && !accepts() ? Promise.reject(notYet(event.id)) : inner.store(event, o)
  if (!batch) return { ...base, store }
  return {
    ...base,
    store,
    storeBatch: (events, o) => {
      const later = events.find((e) => e.type === 'Later')
      return later && !accepts() ? Promise.reject(notYet(later.id)) : inner.storeBatch(events, o)
    },
  }
}

describe('SyncManager without the refusal list: a pulled event the local store refuses', () => {
  it.each([
    ['without storeBatch', false],
    ['with storeBatch', true],
  ])(
    'Given a pulled event the local store (%s) refuses, When the store accepts it later, Then the next sync stores it (the cursor did not move past it for good)',
    async (_, batch) => {
      // Given a remote with three events and a replica whose store refuses the middle one
      const hub = createLoopbackHub()
      await hub.connect('other').push([
        { id: 'p1', type: 'T', aggregateId: 'q', data: {} },
        { id: 'p2', type: 'Later', aggregateId: 'q', data: {} },
        { id: 'p3', type: 'T', aggregateId: 'q', data: {} },
      ])
      let accepts = false
      const store = refusing(() => accepts, batch)
      const manager = new SyncManager({ store, transport: hub.connect('a'), nodeId: 'a' })
      const errors: unknown[] = []
      manager.on('error', (e) => errors.push(e))

      // When it syncs while the store refuses p2
      const first = await manager.sync().catch((e: unknown) => e)

      // Then the refusal is reported with the event's id (as an error event or a failed sync)
      const reported = [...errors, first].filter((e) => isSyncKitError(e, 'invalid-event'))
      expect(reported.length).toBeGreaterThan(0)
      expect((reported[0] as SyncKitError<'invalid-event'>).details.eventId).toBe('p2')

      // (the events after it wait: nothing passed the refused one)
      expect((await store.load(null)).map((e) => e.event.id)).toEqual(['p1'])

      // When the store accepts it and the replica syncs again
      accepts = true
      await manager.sync()

      // Then every event of the remote is held locally
      expect((await store.load(null)).map((e) => e.event.id).sort()).toEqual(['p1', 'p2', 'p3'])
    },
  )
})
