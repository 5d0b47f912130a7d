import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { median, ratio, summarize } from './stats.js'

describe('bench statistics', () => {
  it('takes the middle value of an odd count and the mean of the two middle values of an even one', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(() => median([])).toThrow(/no samples/)
  })

  it('summarises median, median absolute deviation, min and max without changing the input', () => {
    const samples = [10, 12, 11, 30]
    expect(summarize(samples)).toEqual({ samples: 4, median: 11.5, mad: 1, min: 10, max: 30 })
    expect(samples).toEqual([10, 12, 11, 30])
  })

  it('summarises more samples than a call takes arguments (micro benchmarks collect many)', () => {
    // Regression: Math.min(...samples) overflowed the stack on a micro benchmark.
    const samples = Array.from({ length: 300_000 }, (_, i) => i % 7)
    expect(summarize(samples)).toMatchObject({ min: 0, max: 6, median: 3 })
  })

  it('keeps the median between min and max and half the samples within median ± mad', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        (xs) => {
          const s = summarize(xs)
          expect(s.median).toBeGreaterThanOrEqual(s.min)
          expect(s.median).toBeLessThanOrEqual(s.max)
          const within = xs.filter((x) => Math.abs(x - s.median) <= s.mad).length
          expect(within * 2).toBeGreaterThanOrEqual(xs.length)
        },
      ),
    )
  })

  it('states ratios as the other median over sync-kit’s: above 1 means sync-kit is faster', () => {
    expect(ratio(summarize([2]), summarize([1]))).toBe(0.5)
    expect(ratio(summarize([1]), summarize([3]))).toBe(3)
    expect(ratio(summarize([0]), summarize([3]))).toBeUndefined()
  })
})
