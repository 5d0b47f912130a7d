import { describe, expectTypeOf, it } from 'vitest'
import type { EventStore, StoreResult } from '../../types/index.js'
import { createMemoryStore } from './index.js'
import type { MemoryStore } from './index.js'

describe('MemoryStore', () => {
  it('is an EventStore that always offers storeBatch and a read-only size', () => {
    const store = createMemoryStore()
    expectTypeOf(store).toEqualTypeOf<MemoryStore>()
    expectTypeOf(store).toExtend<EventStore>()
    expectTypeOf(store.storeBatch).toBeFunction()
    expectTypeOf(store.storeBatch).returns.resolves.toEqualTypeOf<StoreResult[]>()
    expectTypeOf(store.size).toEqualTypeOf<number>()
    // @ts-expect-error -- size is read-only
    store.size = 3
    // @ts-expect-error -- the name option is a string
    createMemoryStore({ name: 1 })
  })
})
