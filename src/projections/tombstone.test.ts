import { describe, expect, it } from 'vitest'
import { TOMBSTONE_EVENT_TYPE, createTombstone, isTombstone } from './tombstone.js'

describe('tombstones', () => {
  it('makes delete events for the SyncManager (no id) or a store (with id)', () => {
    expect(createTombstone({ aggregateId: 'todo-1' })).toEqual({
      type: TOMBSTONE_EVENT_TYPE,
      aggregateId: 'todo-1',
      data: null,
    })
    const withId = createTombstone({
      aggregateId: 'todo-1',
      id: 'd1',
      data: { reason: 'spam' },
      metadata: { tenant: 't' },
    })
    expect(withId).toEqual({
      id: 'd1',
      type: 'sync-kit:tombstone',
      aggregateId: 'todo-1',
      data: { reason: 'spam' },
      metadata: { tenant: 't' },
    })
    expect(isTombstone(withId)).toBe(true)
    expect(isTombstone({ type: 'Edited' })).toBe(false)
  })

  it('rejects a missing aggregate id or an empty id with invalid-argument', () => {
    expect(() => createTombstone({ aggregateId: '' })).toThrow(
      expect.objectContaining({ code: 'invalid-argument', details: { argument: 'aggregateId' } }),
    )
    expect(() => createTombstone({ aggregateId: 'a', id: '' })).toThrow(/omit it/)
  })
})
