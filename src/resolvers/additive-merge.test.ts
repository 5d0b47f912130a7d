import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import { additiveMerge } from './additive-merge.js'
import { conflictOf, ev } from './resolvers.fixture.js'

const fields = { likes: 'counter', tags: 'set' } as const

describe('additiveMerge', () => {
  it('Given concurrent increments and tag additions, when resolved, then both count and no event is written', async () => {
    const base = ev(
      'e0',
      { likes: 5, tags: { add: ['a'] } },
      { node: 'a', wall: 1, causal: { a: 1 } },
    )
    const a = ev(
      'e1',
      { likes: 1, tags: { add: ['news'] } },
      { node: 'a', wall: 2, causal: { a: 2 } },
    )
    const b = ev(
      'e2',
      { likes: 2, tags: { add: ['tech'], remove: ['a'] } },
      { node: 'b', wall: 3, causal: { a: 1, b: 1 } },
    )

    const result = await additiveMerge({ counters: ['likes'], sets: ['tags'] }).resolve(
      conflictOf(a, b),
    )

    expect(result.decision).toBe('merge')
    expect(result.resolvedEvents).toEqual([a, b])
    expect(result.reasons[0]).toBe('additive-merge: counter "likes": both deltas apply (+1, +2)')
    expect(materializeAggregate([base, a, b], { fields }).data).toEqual({
      likes: 8,
      tags: ['news', 'tech'],
    })
  })

  it('merges other contested fields by their rules', async () => {
    const a = ev('e1', { likes: 1, title: 'A' }, { node: 'a', wall: 1 })
    const b = ev('e2', { likes: 1, title: 'B' }, { node: 'b', wall: 2 })
    const resolver = additiveMerge({ counters: ['likes'], defaultRule: 'first-write-wins' })
    const result = await resolver.resolve(conflictOf(a, b))
    // The merge event never carries the counter (it would count again).
    expect(result.resolvedEvents[2]?.data).toEqual({ title: 'A' })
    expect(
      materializeAggregate([a, b, ...result.resolvedEvents.slice(2)], { fields }).data,
    ).toEqual({ likes: 2, title: 'A' })
  })

  it('rejects a counter that is not a number with invalid-event naming the field', async () => {
    const a = ev('e1', { likes: 'many' }, { wall: 1 })
    const b = ev('e2', { likes: 1 }, { wall: 2 })
    await expect(
      additiveMerge({ counters: ['likes'] }).resolve(conflictOf(a, b)),
    ).rejects.toSatisfy(
      (e) => isSyncKitError(e, 'invalid-event') && e.details.field === 'data.likes',
    )
  })

  it('needs at least one counter or set field, each named once', () => {
    expect(() => additiveMerge({})).toThrow(/at least one counter or set/)
    expect(() => additiveMerge({ counters: ['x'], sets: ['x'] })).toThrow(/more than once/)
    expect(() => additiveMerge({ counters: [''] })).toThrow(/non-empty field names/)
  })
})
