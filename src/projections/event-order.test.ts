import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ev } from '../resolvers/resolvers.fixture.js'
import { compareEvents } from './event-order.js'
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
