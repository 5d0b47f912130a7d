/**
 * A resolver that breaks its contract (returns nothing, a resolution without events, events that
 * are not objects, or throws a plain value) is reported as `resolver-failed` for that conflict
 * and must not stop later syncs: the conflict leaves the queue and new events still arrive.
 */
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { ConflictResolver } from '../types/index.js'
import { SyncManager } from './sync-manager.js'

const broken: Record<string, ConflictResolver['resolve']> = {
  'returns undefined': () => Promise.resolve(undefined as never),
  'returns a resolution without resolvedEvents': () =>
    Promise.resolve({ decision: 'local' } as never),
  'returns resolvedEvents [null]': () =>
    Promise.resolve({ decision: 'merged', resolvedEvents: [null] } as never),
  'throws a string': () => {
    throw 'nope'
  },
  'returns a non-promise': () => 42 as never,
}

describe('SyncManager: a resolver that breaks its contract', () => {
  for (const [how, resolve] of Object.entries(broken)) {
    it(`Given a resolver that ${how}, When a conflict is found and later events arrive, Then the conflict is reported as resolver-failed and later syncs still pull`, async () => {
      // Given two replicas with concurrent edits of one aggregate
      const hub = createLoopbackHub()
      const store = createMemoryStore()
      const a = new SyncManager({
        store,
        transport: hub.connect('a'),
        nodeId: 'a',
        resolver: { resolve },
      })
      const b = new SyncManager({
        store: createMemoryStore(),
        transport: hub.connect('b'),
        nodeId: 'b',
      })
      const errors: unknown[] = []
      a.on('error', (e) => errors.push(e))
      await a.record({ type: 'T', aggregateId: 'x', data: { v: 'a' } })
      await b.record({ type: 'T', aggregateId: 'x', data: { v: 'b' } })
      await b.sync()

      // When a syncs (the resolver misbehaves), then b writes more and a syncs again
      await a.sync().catch((e: unknown) => errors.push(e))
      await b.record({ type: 'T', aggregateId: 'y', data: { v: 'later' } })
      await b.sync()
      const later = await a.sync()

      // Then the failure was reported as resolver-failed, and the later event arrived
      expect(errors.some((e) => isSyncKitError(e, 'resolver-failed'))).toBe(true)
      expect(later.pulled).toBe(1)
      expect((await store.load(null)).map((e) => e.event.aggregateId)).toContain('y')
    })
  }
})
