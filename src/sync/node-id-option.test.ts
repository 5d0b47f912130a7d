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
    const store = Object.assign(createMemoryStore(), { replicaId: 'r-4f2a' })
    const message = (thrownBy(undefined, store) as Error).message
    expect(message).toContain('nodeId: store.replicaId')
    expect(message).toContain('"r-4f2a"')
  })

  it('Given a nodeId that is not 1-64 safe characters, Then the error is the invalid-id one', () => {
    const message = (thrownBy('has space') as Error).message
    expect(message).toMatch(/node id "has space" is invalid; use 1-64 characters/)
    expect(thrownBy('phone')).toBeUndefined()
  })
})
