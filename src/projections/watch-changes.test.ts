import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import { describeWatchChanges } from '../../test/watch-changes.cases.fixture.js'
import { watchChanges } from './watch-changes.js'

// The change API's cases run here on the memory store, and on the SQLite and IndexedDB stores
// beside those (sqlite-changes.test.ts, indexeddb-changes.test.ts).
describeWatchChanges({
  name: 'memory',
  openStore: async () => createMemoryStore(),
  createHub: createLoopbackHub,
})

describe('watchChanges on a store without watch', () => {
  it('Given a store without the watch capability, Then it throws invalid-argument saying which stores have it', () => {
    const store = delegatingStore(createMemoryStore())
    let error: unknown
    try {
      watchChanges(store, () => undefined)
    } catch (caught) {
      error = caught
    }
    expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    expect((error as Error).message).toContain('no watch capability')
    expect((error as Error).message).toContain('memory, SQLite, IndexedDB, PostgreSQL')
  })

  it('Given a closed store, Then watchChanges throws closed', async () => {
    const store = createMemoryStore()
    await store.close()
    expect(() => watchChanges(store, () => undefined)).toThrow(/after close/)
  })
})
