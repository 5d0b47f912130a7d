import { describe, expect, it } from 'vitest'
import { ev } from '../resolvers/resolvers.fixture.js'
import { createProjection } from './create-projection.js'
import { TOMBSTONE_EVENT_TYPE } from './tombstone.js'

describe('createProjection', () => {
  it('Given events of several aggregates in batches, when read, then each aggregate has its own state and apply reports what changed', () => {
    const todos = createProjection()
    expect(
      todos.apply([
        ev('e1', { t: 'milk' }, { aggregateId: 'b', wall: 1 }),
        ev('e2', { t: 'eggs' }, { aggregateId: 'a', wall: 1 }),
      ]),
    ).toEqual(['a', 'b'])
    expect(todos.apply([ev('e1', { t: 'milk' }, { aggregateId: 'b', wall: 1 })])).toEqual([])
    expect(todos.get('b').data).toEqual({ t: 'milk' })
    expect(
      todos.apply([ev('e3', null, { aggregateId: 'b', wall: 2, type: TOMBSTONE_EVENT_TYPE })]),
    ).toEqual(['b'])
    expect(todos.get('b').status).toBe('deleted')
    expect(todos.get('a').status).toBe('live')
    expect(todos.get('zzz')).toMatchObject({ aggregateId: 'zzz', status: 'absent' })
    expect(todos.aggregateIds()).toEqual(['a', 'b'])
  })

  it('Given a batch with one bad event, when applied, then nothing of the batch is added', () => {
    const p = createProjection()
    p.apply([ev('e1', { a: 1 }, { aggregateId: 'x' })])
    const good = ev('e2', { a: 2 }, { aggregateId: 'x', wall: 5 })
    // Same id as e1 but another aggregate and content: a different event under a known id.
    expect(() => p.apply([good, ev('e1', { a: 9 }, { aggregateId: 'y' })])).toThrow(
      expect.objectContaining({ code: 'event-id-conflict' }),
    )
    expect(() => p.apply([good, ev('e4', 'text', { aggregateId: 'x' })])).toThrow(
      expect.objectContaining({ code: 'invalid-event' }),
    )
    expect(p.get('x').appliedEventIds).toEqual(['e1'])
    expect(p.aggregateIds()).toEqual(['x'])
  })

  it('rejects bad options with invalid-argument', () => {
    expect(() => createProjection({ deleteRule: 'x' as never })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
    expect(() => createProjection({ fields: 'likes' as never })).toThrow(/fields must be an object/)
  })
})
