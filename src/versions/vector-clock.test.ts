import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_VECTOR_CLOCK_ENTRIES, VectorClock } from './vector-clock.js'

const clockArb = fc
  .dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 5 }))
  .map((d) => VectorClock.from(Object.entries(d)))

describe('VectorClock', () => {
  it('round-trips its sorted string form', () => {
    const c = VectorClock.from([
      ['b', 2],
      ['a', 3],
      ['z', 0],
    ])
    expect(c.toString()).toBe('a:3,b:2')
    expect(VectorClock.parse('a:3,b:2').relation(c)).toBe('equal')
    expect(VectorClock.parse('').isZero()).toBe(true)
  })

  it('rejects malformed, unsorted or repeated entries with version-parse', () => {
    for (const bad of ['a', 'a:0', 'a:-1', 'b:1,a:1', 'a:1,a:2', 'a:1,', ',a:1', 'a b:1', 'a:01']) {
      expect(() => VectorClock.parse(bad), bad).toThrow(
        expect.objectContaining({ code: 'version-parse' }),
      )
    }
  })

  it('tells before, after, equal and concurrent', () => {
    const a = VectorClock.parse('a:1')
    const ab = a.increment('b')
    expect(a.relation(ab)).toBe('before')
    expect(ab.relation(a)).toBe('after')
    expect(a.increment('a').relation(ab)).toBe('concurrent')
    expect(ab.relation(VectorClock.parse('a:1,b:1'))).toBe('equal')
  })

  it('merge is the least upper bound: commutative, associative, idempotent, dominating both', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (x, y, z) => {
        expect(x.merge(y).toString()).toBe(y.merge(x).toString())
        expect(x.merge(y).merge(z).toString()).toBe(x.merge(y.merge(z)).toString())
        expect(x.merge(x).toString()).toBe(x.toString())
        expect(x.isDominatedBy(x.merge(y))).toBe(true)
        expect(y.isDominatedBy(x.merge(y))).toBe(true)
      }),
      { seed: 99, numRuns: 300 },
    )
  })

  it('compare is a total order that extends happened-before', () => {
    fc.assert(
      fc.property(clockArb, clockArb, (x, y) => {
        const r = x.relation(y)
        const c = x.compare(y)
        expect(y.compare(x)).toBe(c === 0 ? 0 : -c)
        if (r === 'before') expect(c).toBe(-1)
        if (r === 'after') expect(c).toBe(1)
        if (r === 'equal') expect(c).toBe(0)
        if (r === 'concurrent') expect(c).not.toBe(0)
      }),
      { seed: 5, numRuns: 300 },
    )
  })

  it('refuses to grow past its size bound', () => {
    const big = VectorClock.from(
      Array.from({ length: MAX_VECTOR_CLOCK_ENTRIES }, (_, i) => [`n${i}`, 1] as const),
    )
    expect(() => big.increment('one-more')).toThrow(
      expect.objectContaining({ code: 'clock-overflow' }),
    )
    expect(() => big.merge(VectorClock.parse('zz:1'))).toThrow(
      expect.objectContaining({ code: 'clock-overflow' }),
    )
    expect(big.increment('n0').get('n0')).toBe(2)
  })
})
