import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ev } from '../resolvers/resolvers.fixture.js'
import { compareCausally, compareEvents } from './event-order.js'
import { compareCodePoints, compareJson } from './json-order.js'

describe('compareEvents', () => {
  it('orders by HLC, then id; unstamped and malformed stamps first', () => {
    const events = [
      ev('b', {}, { node: 'n', wall: 2 }),
      ev('a', {}, { node: 'n', wall: 2 }),
      ev('z', {}, { node: 'n', wall: 1, counter: 9 }),
      ev('y', {}, { hlc: 'garbage' }),
      ev('x', {}),
      ev('w', {}, { node: 'A', wall: 2 }),
    ]
    expect([...events].sort(compareEvents).map((e) => e.id)).toEqual(['x', 'y', 'z', 'w', 'a', 'b'])
  })
})

describe('compareCausally', () => {
  it('lets the causally later event win whatever the stamps, and the HLC decide concurrent ones', () => {
    const ahead = ev('a1', {}, { node: 'a', wall: 9_000, causal: { a: 1 } })
    const after = ev('b1', {}, { node: 'b', wall: 1_000, causal: { a: 1, b: 1 } })
    const concurrent = ev('c1', {}, { node: 'c', wall: 5_000, causal: { c: 1 } })
    const unstamped = ev('u1', {}, { node: 'u' })

    expect(compareEvents(ahead, after)).toBe(1)
    expect(compareCausally(ahead, after)).toBe(-1)
    expect(compareCausally(after, ahead)).toBe(1)
    expect(compareCausally(concurrent, ahead)).toBe(-1)
    expect(compareCausally(concurrent, after)).toBe(1)
    expect(compareCausally(unstamped, after)).toBe(-1)
    expect(compareCausally(after, after)).toBe(0)
  })

  it('is antisymmetric on any pair (property, seeded)', () => {
    const arb = fc.record({
      node: fc.constantFrom('a', 'b', 'c'),
      wall: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      a: fc.nat({ max: 2 }),
      b: fc.nat({ max: 2 }),
      c: fc.nat({ max: 2 }),
    })
    const make = (
      id: string,
      r: { node: string; wall: number | undefined; a: number; b: number; c: number },
    ) =>
      ev(
        id,
        {},
        {
          node: r.node,
          ...(r.wall !== undefined ? { wall: r.wall } : {}),
          causal: { a: r.a, b: r.b, c: r.c, [r.node]: Math.max(1, r[r.node as 'a']) },
        },
      )
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const p = make('p', x)
        const q = make('q', y)
        expect(compareCausally(p, q)).toBe(-compareCausally(q, p))
      }),
      { seed: 4_2026, numRuns: 500 },
    )
  })
})

describe('compareCodePoints', () => {
  it('agrees with UTF-8 byte order (property, seeded)', () => {
    const encoder = new TextEncoder()
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const x = encoder.encode(a)
        const y = encoder.encode(b)
        let expected = 0
        for (let i = 0; i < Math.min(x.length, y.length) && expected === 0; i++) {
          expected = Math.sign((x[i] as number) - (y[i] as number))
        }
        if (expected === 0) expected = Math.sign(x.length - y.length)
        expect(compareCodePoints(a, b)).toBe(expected)
      }),
      { seed: 99, numRuns: 500 },
    )
    // The case the built-in < gets wrong: U+FF21 is before U+1F600 in code points and bytes.
    expect(compareCodePoints('\uFF21', '\u{1F600}')).toBe(-1)
    expect('\uFF21' < '\u{1F600}').toBe(false)
  })
})

describe('compareJson', () => {
  it('ranks kinds, then compares within a kind', () => {
    const sorted = [{ a: 1 }, [2], [1, 5], 'b', 'a', 10, 2, true, false, null].sort(compareJson)
    expect(sorted).toEqual([null, false, true, 2, 10, 'a', 'b', [1, 5], [2], { a: 1 }])
    expect(compareJson({ b: 1, a: 2 }, { a: 2, b: 1 })).toBe(0)
    expect(compareJson(0, -0)).toBe(0)
  })
})
