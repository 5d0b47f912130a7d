import { describe, expect, it } from 'vitest'
import { compareEvents } from '../projections/event-order.js'
import { ev } from './resolvers.fixture.js'
import { MERGE_EVENT_TYPE, MERGE_ORIGIN, createMergeEvent } from './merge-event.js'
import { sha256Hex } from './sha256.js'

describe('createMergeEvent', () => {
  const a = ev(
    'e1',
    { t: 1 },
    { node: 'a', wall: 1000, counter: 2, causal: { a: 3, b: 1 }, tenant: 't1' },
  )
  const b = ev(
    'e2',
    { t: 2 },
    { node: 'b', wall: 1000, counter: 7, causal: { b: 2 }, tenant: 't1' },
  )

  it('Given the same inputs in either order and data with keys in any order, then the event is byte-identical', () => {
    const one = createMergeEvent([a, b], { z: 1, a: { y: 2, x: -0 } }, { resolver: 'field-merge' })
    const two = createMergeEvent([b, a], { a: { x: 0, y: 2 }, z: 1 }, { resolver: 'field-merge' })
    expect(JSON.stringify(two)).toBe(JSON.stringify(one))
  })

  it('derives metadata only from the inputs: successor HLC, joined causal context, sorted ids, shared tenant', () => {
    const merged = createMergeEvent([a, b], { t: 3 }, { resolver: 'field-merge' })
    expect(merged).toMatchObject({
      type: MERGE_EVENT_TYPE,
      aggregateId: 'doc',
      data: { t: 3 },
      metadata: {
        hlc: '0000000003e8-0008-b',
        causal: 'a:3,b:2',
        origin: MERGE_ORIGIN,
        merged: ['e1', 'e2'],
        resolver: 'field-merge',
        tenant: 't1',
      },
    })
    // It sorts after both inputs, so projections apply it last.
    expect(compareEvents(merged, a)).toBe(1)
    expect(compareEvents(merged, b)).toBe(1)
  })

  it('is content-addressed: the id is merge: + 128 bits of SHA-256 of the canonical content', () => {
    const merged = createMergeEvent([a, b], { t: 3 })
    const { id, ...content } = merged
    const canonical = JSON.stringify({
      aggregateId: content.aggregateId,
      data: content.data,
      metadata: content.metadata,
      type: content.type,
    })
    expect(id).toBe(`merge:${sha256Hex(canonical).slice(0, 32)}`)
    expect(createMergeEvent([a, b], { t: 4 }).id).not.toBe(id)
  })

  it('carries the counter over into the wall time at the counter limit, and stamps merges of unstamped events at zero', () => {
    const full = ev('f', {}, { node: 'n', wall: 5, counter: 0xffff })
    const other = ev('g', {}, { node: 'n', wall: 4 })
    expect(createMergeEvent([full, other], {}).metadata?.hlc).toBe('000000000006-0000-n')

    const bare = createMergeEvent([ev('u1', {}), ev('u2', {})], {})
    expect(bare.metadata?.hlc).toBe('000000000000-0000-merge')
    expect(bare.metadata).not.toHaveProperty('causal')
    expect(compareEvents(bare, ev('u2', {}))).toBe(1)
    expect(compareEvents(bare, ev('s', {}, { wall: 1 }))).toBe(-1)
  })

  it('drops the tenant when inputs disagree and the causal context when one input has none', () => {
    const merged = createMergeEvent([a, ev('x', {}, { node: 'c', wall: 1, tenant: 't2' })], {})
    expect(merged.metadata).not.toHaveProperty('tenant')
    expect(merged.metadata).not.toHaveProperty('causal')
  })

  it('rejects bad input with invalid-argument', () => {
    expect(() => createMergeEvent([a], {})).toThrow(/at least two/)
    expect(() => createMergeEvent([a, ev('o', {}, { aggregateId: 'other' })], {})).toThrow(
      /one aggregate/,
    )
    expect(() => createMergeEvent([a, b], { n: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
  })
})
