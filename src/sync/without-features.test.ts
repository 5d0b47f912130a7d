/**
 * A manager made without the feature modules (no `refusalList()`, no `durableConflicts()`, no
 * `liveMode()`) must still skip nothing silently (issue 9 §5): a pulled event the local store
 * refuses keeps the pull cursor at it, so it is fetched again once the store accepts it.
 */
import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { EventStore } from '../types/index.js'
import { SyncManager } from './sync-manager.js'

/** A memory store without `storeBatch` that refuses events of type `Later` while `accepts()` is false. */
function refusing(accepts: () => boolean): EventStore {
  const inner = createMemoryStore()
  return {
    getCheckpoint: (key, o) => inner.getCheckpoint(key, o),
    setCheckpoint: (key, value, o) => inner.setCheckpoint(key, value, o),
    getState: (key, o) => inner.getState(key, o),
    setState: (key, value, o) => inner.setState(key, value, o),
    load: (since, o) => inner.load(since, o),
    loadByAggregate: (id, since, o) => inner.loadByAggregate(id, since, o),
    latestVersion: (o) => inner.latestVersion(o),
    parseVersion: (value) => inner.parseVersion(value),
    close: () => inner.close(),
    store: (event, o) =>
      event.type === 'Later' && !accepts()
        ? Promise.reject(new SyncKitError('invalid-event', 'not yet', { eventId: event.id }))
        : inner.store(event, o),
  }
}

describe('SyncManager without the refusal list: a pulled event the local store refuses', () => {
  it('Given a pulled event the local store refuses, When the store accepts it later, Then the next sync stores it (the cursor did not move past it for good)', async () => {
    // Given a remote with three events and a replica whose store refuses the middle one
    const hub = createLoopbackHub()
    await hub.connect('other').push([
      { id: 'p1', type: 'T', aggregateId: 'q', data: {} },
      { id: 'p2', type: 'Later', aggregateId: 'q', data: {} },
      { id: 'p3', type: 'T', aggregateId: 'q', data: {} },
    ])
    let accepts = false
    const store = refusing(() => accepts)
    const manager = new SyncManager({ store, transport: hub.connect('a'), nodeId: 'a' })
    const errors: unknown[] = []
    manager.on('error', (e) => errors.push(e))

    // When it syncs while the store refuses p2
    const first = await manager.sync().catch((e: unknown) => e)

    // Then the refusal is reported with the event's id (as an error event or a failed sync)
    const reported = [...errors, first].filter((e) => isSyncKitError(e, 'invalid-event'))
    expect(reported.length).toBeGreaterThan(0)
    expect((reported[0] as SyncKitError<'invalid-event'>).details.eventId).toBe('p2')

    // When the store accepts it and the replica syncs again
    accepts = true
    await manager.sync()

    // Then every event of the remote is held locally
    expect((await store.load(null)).map((e) => e.event.id).sort()).toEqual(['p1', 'p2', 'p3'])
  })
})
