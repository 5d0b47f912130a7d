import { describe, expect, it } from 'vitest'

import { Histogram } from './histogram.js'

describe('load test histogram', () => {
  it('reads percentiles within 1 % above the exact nearest-rank sample, never below', () => {
    const h = new Histogram()
    const samples = Array.from({ length: 1000 }, (_, i) => (i + 1) * 0.37)
    for (const ms of samples) h.record(ms)
    const exact = (p: number): number => samples[Math.ceil(p * samples.length) - 1] as number
    for (const p of [0.5, 0.9, 0.99]) {
      const got = h.quantile(p) as number
      expect(got).toBeGreaterThanOrEqual(exact(p))
      expect(got).toBeLessThanOrEqual(exact(p) * 1.01)
    }
    expect(h.summary()).toMatchObject({ n: 1000, max: 370, mean: 185.19 })
  })

  it('merges the data of several histograms into the same figures as one', () => {
    const whole = new Histogram()
    const parts = [new Histogram(), new Histogram()]
    for (let i = 0; i < 500; i++) {
      const ms = (i * 7919) % 1000
      whole.record(ms)
      parts[i % 2]?.record(ms)
    }
    const merged = Histogram.merge(parts.map((part) => part.toData()))
    expect(merged.summary()).toEqual(whole.summary())
  })

  it('reports nulls when empty, counts negative skew as 0 and caps at the largest sample', () => {
    expect(new Histogram().summary()).toEqual({ n: 0, p50: null, p99: null, max: null, mean: null })
    const h = new Histogram()
    h.record(-0.2)
    h.record(5)
    expect(h.quantile(0.5)).toBe(0.001) // the upper bound of the lowest bucket
    expect(h.quantile(1)).toBe(5)
  })
})
