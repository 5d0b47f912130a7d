import { describe, expect, it } from 'vitest'

import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/memory-store.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { EventStore } from '../types/index.js'
import { SyncManager } from './sync-manager.js'
import type { SyncManagerOptions } from './sync-options.js'

/** Constructs a manager with `nodeId` as given (possibly missing) and returns what it threw. */
function thrownBy(nodeId: unknown, store: EventStore = createMemoryStore()): unknown {
  const options = { store, transport: createLoopbackHub().connect('c'), nodeId }
  try {
    new SyncManager(options as SyncManagerOptions)
  } catch (error) {
    return error
  }
  return undefined
}

describe('SyncManager nodeId option (issue 15 §5)', () => {
  it('Given no nodeId, Then the error says it is missing and how to get one, not "node id \\"undefined\\" is invalid"', () => {
    for (const missing of [undefined, null, '']) {
      const error = thrownBy(missing)
      expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
      const message = (error as Error).message
      expect(message).toContain('[sync-kit] [sync-manager] option nodeId is missing')
      expect(message).toContain('crypto.randomUUID()')
      expect(message).not.toContain('undefined')
      expect((error as { details: unknown }).details).toEqual({ argument: 'nodeId' })
    }
  })

  it('Given no nodeId and a store with a replicaId (as sync-kit/indexeddb has), Then the error names store.replicaId', () => {
    // Since issue 11 a valid replicaId IS the node id (next test): no error to suggest it any
    // more. Only a replicaId that cannot be a node id still fails, naming that id.
    const store = Object.assign(createMemoryStore(), { replicaId: 'r 4f2a' })
    const error = thrownBy(undefined, store)
    expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    expect((error as Error).message).toContain('node id "r 4f2a" is invalid')
    expect((error as { details: unknown }).details).toEqual({ argument: 'nodeId' })
  })

  it("Given no nodeId and a store with a valid replicaId, Then the manager records under the store's replicaId (issue 11)", async () => {
    const store = Object.assign(createMemoryStore(), { replicaId: 'r-4f2a' })
    const manager = new SyncManager({ store, transport: createLoopbackHub().connect('c') })
    const { event } = await manager.record({ type: 'T', aggregateId: 'a', data: {} })
    expect(event.metadata?.origin).toBe('r-4f2a')
    expect(event.metadata?.hlc).toMatch(/r-4f2a$/)
    // An explicit nodeId still wins.
    const other = new SyncManager({
      store,
      transport: createLoopbackHub().connect('c'),
      nodeId: 'n1',
    })
    expect(
      (await other.record({ type: 'T', aggregateId: 'b', data: {} })).event.metadata?.origin,
    ).toBe('n1')
    await manager.close()
    await other.close()
  })

  it('Given a nodeId that is not 1-64 safe characters, Then the error is the invalid-id one', () => {
    const message = (thrownBy('has space') as Error).message
    expect(message).toMatch(/node id "has space" is invalid; use 1-64 characters/)
    expect(thrownBy('phone')).toBeUndefined()
  })
})
