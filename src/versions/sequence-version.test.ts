import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SequenceVersion } from './sequence-version.js'

describe('SequenceVersion', () => {
  it('keeps precision past 2^53 and round-trips', () => {
    const v = SequenceVersion.parse('9007199254740993')
    expect(v.next().toString()).toBe('9007199254740994')
    expect(SequenceVersion.parse(v.toString()).compare(v)).toBe(0)
    expect(JSON.stringify({ v })).toBe('{"v":"9007199254740993"}')
  })

  it('crosses the safe-integer boundary exactly (number fast path below it, bigint above)', () => {
    const max = new SequenceVersion(Number.MAX_SAFE_INTEGER)
    const past = max.next()
    expect(past.toString()).toBe('9007199254740992')
    expect(past.value).toBe(2n ** 53n)
    expect(past.toSafeNumber()).toBeUndefined()
    expect(max.toSafeNumber()).toBe(Number.MAX_SAFE_INTEGER)
    expect(max.compare(past)).toBe(-1)
    expect(past.compare(max)).toBe(1)
    expect(new SequenceVersion(2n ** 53n - 1n).compare(max)).toBe(0)
    expect(SequenceVersion.parse('123456789012345').toSafeNumber()).toBe(123456789012345)
  })

  it('round-trips any non-negative bigint and orders like the integers', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        (a, b) => {
          const va = new SequenceVersion(a)
          const vb = new SequenceVersion(b)
          expect(SequenceVersion.parse(va.toString()).value).toBe(a)
          expect(va.compare(vb)).toBe(a < b ? -1 : a > b ? 1 : 0)
        },
      ),
      { seed: 42, numRuns: 300 },
    )
  })

  it('rejects anything but a canonical decimal with version-parse', () => {
    for (const bad of ['', '-1', '01', '1.5', ' 1', '1e3', 'abc', '0x10', '1'.repeat(41)]) {
      expect(() => SequenceVersion.parse(bad), bad).toThrow(
        expect.objectContaining({ code: 'version-parse' }),
      )
    }
  })

  it('is zero only at 0 and rejects negative or unsafe numbers', () => {
    expect(SequenceVersion.ZERO.isZero()).toBe(true)
    expect(new SequenceVersion(1).isZero()).toBe(false)
    expect(() => new SequenceVersion(-1)).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
    expect(() => new SequenceVersion(2 ** 53)).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
    expect(() => new SequenceVersion(1.5)).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
  })

  it('refuses to compare with another kind of version', () => {
    expect(() =>
      SequenceVersion.ZERO.compare({
        compare: () => 0,
        toString: () => 'a:1',
        isZero: () => false,
      }),
    ).toThrow(expect.objectContaining({ code: 'version-mismatch' }))
  })
})
