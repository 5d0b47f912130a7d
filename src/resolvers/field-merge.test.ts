import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { materializeAggregate } from '../projections/materialize-aggregate.js'
import type { JsonValue } from '../types/index.js'
import { fieldMerge } from './field-merge.js'
import { conflictOf, ev, must } from './resolvers.fixture.js'

describe('fieldMerge', () => {
  it('Given edits of different fields, when merged, then both changes are kept and no event is written', async () => {
    const title = ev('e1', { title: 'Milk' }, { node: 'a', wall: 1, causal: { a: 1 } })
    const done = ev('e2', { done: true }, { node: 'b', wall: 2, causal: { b: 1 } })

    const result = await fieldMerge().resolve(conflictOf(title, done))

    expect(result.decision).toBe('merge')
    expect(result.winner).toBeUndefined()
    expect(result.resolvedEvents).toEqual([title, done])
    expect(result.reasons.join('\n')).toMatch(/one side only are kept: "done", "title"/)
    expect(materializeAggregate([title, done]).data).toEqual({ title: 'Milk', done: true })
  })

  it('Given overlapping fields, when each has its rule, then a merge event holds the resolved values and the projection shows them', async () => {
    const a = ev(
      'e1',
      { title: 'A', views: 9, tags: ['x', 'y'], note: 'n1' },
      { node: 'a', wall: 1 },
    )
    const b = ev(
      'e2',
      { title: 'B', views: 4, tags: ['y', 'z'], note: 'n2' },
      { node: 'b', wall: 2 },
    )
    const resolver = fieldMerge({
      fields: { title: 'first-write-wins', views: 'max', tags: 'union' },
      defaultRule: 'last-write-wins',
    })

    const result = await resolver.resolve(conflictOf(b, a))

    const merge = result.resolvedEvents[2]
    expect(merge?.id).toMatch(/^merge:[0-9a-f]{32}$/)
    expect(merge?.data).toEqual({ title: 'A', views: 9, tags: ['x', 'y', 'z'], note: 'n2' })
    expect(materializeAggregate([a, b, must(merge)]).data).toEqual({
      title: 'A',
      views: 9,
      tags: ['x', 'y', 'z'],
      note: 'n2',
    })
  })

  it('writes no event when every contested field resolves to the later value', async () => {
    const a = ev('e1', { n: 1 }, { node: 'a', wall: 1 })
    const b = ev('e2', { n: 5 }, { node: 'b', wall: 2 })
    const result = await fieldMerge({ fields: { n: 'max' } }).resolve(conflictOf(a, b))
    expect(result.resolvedEvents).toEqual([a, b])
  })

  it('orders values of different kinds deterministically for max and min', async () => {
    const a = ev('e1', { v: 'text', w: [1, 2] }, { node: 'a', wall: 2 })
    const b = ev('e2', { v: 10, w: [1, 3] }, { node: 'b', wall: 1 })
    const max = await fieldMerge({ defaultRule: 'max' }).resolve(conflictOf(a, b))
    const min = await fieldMerge({ defaultRule: 'min' }).resolve(conflictOf(a, b))
    // Strings rank above numbers; arrays compare element by element.
    expect(max.resolvedEvents[2]?.data).toEqual({ v: 'text', w: [1, 3] })
    expect(min.resolvedEvents[2]?.data).toEqual({ v: 10, w: [1, 2] })
  })

  it('gives a custom rule the values in HLC order, and merges non-object payloads as one value', async () => {
    const seen: [JsonValue, JsonValue, string | undefined][] = []
    const resolver = fieldMerge({
      defaultRule: ({ field, earlier, later }) => {
        seen.push([earlier.value, later.value, field])
        return `${String(earlier.value)}+${String(later.value)}`
      },
    })
    const a = ev('e1', 'left', { node: 'a', wall: 1 })
    const b = ev('e2', 'right', { node: 'b', wall: 2 })
    const result = await resolver.resolve(conflictOf(b, a))
    expect(seen).toEqual([['left', 'right', undefined]])
    expect(result.resolvedEvents[2]?.data).toBe('left+right')
  })

  it('rejects unknown rules up front and a rule returning non-JSON at resolve time', async () => {
    expect(() => fieldMerge({ fields: { a: 'newest' as 'max' } })).toThrow(/rule for field "a"/)
    expect(() => fieldMerge({ defaultRule: 'counter' as 'max' })).toThrow(/defaultRule/)
    const bad = fieldMerge({ defaultRule: () => undefined as unknown as JsonValue })
    const c = conflictOf(ev('e1', { a: 1 }, { wall: 1 }), ev('e2', { a: 2 }, { wall: 2 }))
    await expect(bad.resolve(c)).rejects.toSatisfy(
      (e) => isSyncKitError(e, 'invalid-argument') && /field "a"/.test(String(e.message)),
    )
  })
})
