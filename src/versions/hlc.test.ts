import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { TestClock } from '../testing/test-clock.js'
import { HLC_MAX_COUNTER, Hlc, HybridLogicalClock } from './hlc.js'

describe('Hlc stamps', () => {
  it('round-trips through the string form', () => {
    const stamp = new Hlc(1_715_000_000_605, 42, 'replica-a')
    expect(Hlc.parse(stamp.toString())).toEqual(stamp)
    expect(stamp.toString()).toBe('018f4df7405d-002a-replica-a')
  })

  it('rejects malformed strings with version-parse', () => {
    for (const bad of [
      '',
      'x',
      '018f4c9c8d5d-002a-',
      '018F4C9C8D5D-002a-a',
      '018f4c9c8d5d-2a-a',
      '018f4c9c8d5d-002a-a b',
    ]) {
      expect(() => Hlc.parse(bad), bad).toThrow(expect.objectContaining({ code: 'version-parse' }))
    }
  })

  it('orders by wall, then counter, then node id by byte order; the string form sorts the same way', () => {
    const arb = fc.tuple(
      fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      fc.integer({ min: 0, max: HLC_MAX_COUNTER }),
      fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/),
    )
    fc.assert(
      fc.property(arb, arb, ([w1, c1, n1], [w2, c2, n2]) => {
        const a = new Hlc(w1, c1, n1)
        const b = new Hlc(w2, c2, n2)
        const expected =
          w1 !== w2
            ? Math.sign(w1 - w2)
            : c1 !== c2
              ? Math.sign(c1 - c2)
              : n1 === n2
                ? 0
                : n1 < n2
                  ? -1
                  : 1
        const s = a.toString()
        const t = b.toString()
        expect(a.compare(b)).toBe(expected)
        expect(s === t ? 0 : s < t ? -1 : 1).toBe(expected)
      }),
      { seed: 20261129, numRuns: 500 },
    )
  })

  it('breaks exact (wall, counter) ties by node id so every replica orders them the same', () => {
    const a = new Hlc(100, 1, 'A')
    const b = new Hlc(100, 1, 'a')
    expect(a.compare(b)).toBe(-1) // 'A' (0x41) < 'a' (0x61)
    expect(b.compare(a)).toBe(1)
  })

  it('refuses to compare with another kind of version', () => {
    expect(() =>
      new Hlc(1, 0, 'a').compare({ compare: () => 0, toString: () => '7', isZero: () => false }),
    ).toThrow(expect.objectContaining({ code: 'version-mismatch' }))
  })
})

describe('HybridLogicalClock', () => {
  it('issues strictly increasing stamps, even within one millisecond', () => {
    const clock = new TestClock(1_000)
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock })
    const a = hlc.now()
    const b = hlc.now()
    clock.set(1_001)
    const c = hlc.now()
    expect([a.counter, b.counter, c.counter]).toEqual([0, 1, 0])
    expect(a.compare(b)).toBe(-1)
    expect(b.compare(c)).toBe(-1)
  })

  it('handles counter overflow by borrowing the next millisecond', () => {
    const clock = new TestClock(5_000)
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock })
    let previous = hlc.now()
    for (let i = 0; i < HLC_MAX_COUNTER + 10; i++) {
      const next = hlc.now()
      expect(next.compare(previous)).toBe(1)
      previous = next
    }
    expect(previous.wallMs).toBe(5_001)
  })

  it('receive rule: a new local stamp sorts after every stamp received', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100 }), fc.boolean()),
          {
            maxLength: 60,
          },
        ),
        (steps) => {
          const clock = new TestClock(10_000)
          const hlc = new HybridLogicalClock({ nodeId: 'local', clock, maxDriftMs: 1_000 })
          let maxSeen: Hlc | undefined
          for (const [advance, remoteAhead, isReceive] of steps) {
            clock.set(clock.now() + advance)
            if (isReceive) {
              const remote = new Hlc(clock.now() + remoteAhead, remoteAhead % 7, 'remote')
              const stamp = hlc.receive(remote)
              expect(stamp.compare(remote)).toBe(1)
              if (maxSeen) expect(stamp.compare(maxSeen)).toBe(1)
              maxSeen = stamp
            } else {
              const stamp = hlc.now()
              if (maxSeen) expect(stamp.compare(maxSeen)).toBe(1)
              maxSeen = stamp
            }
          }
        },
      ),
      { seed: 7, numRuns: 300 },
    )
  })

  it('rejects a remote stamp beyond the drift bound and does not move', () => {
    const clock = new TestClock(1_000_000)
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock, maxDriftMs: 60_000 })
    const before = hlc.now()
    let caught: unknown
    try {
      hlc.receive(new Hlc(1_000_000 + 600_000, 0, 'evil'))
    } catch (error) {
      caught = error
    }
    expect(isSyncKitError(caught, 'clock-drift')).toBe(true)
    expect(hlc.last).toEqual(before)
    // Within the bound it is accepted.
    expect(hlc.receive(new Hlc(1_000_000 + 59_000, 3, 'ok')).wallMs).toBe(1_059_000)
  })

  it('never goes backwards when the wall clock steps back or after a restart from the last stamp', () => {
    const clock = new TestClock(2_000_000)
    const first = new HybridLogicalClock({ nodeId: 'a', clock })
    const last = first.now()
    clock.set(1_000_000)
    expect(first.now().compare(last)).toBe(1)
    const restarted = new HybridLogicalClock({ nodeId: 'a', clock, last })
    expect(restarted.now().compare(last)).toBe(1)
  })

  it('validates its options', () => {
    expect(() => new HybridLogicalClock({ nodeId: '' })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
    expect(() => new HybridLogicalClock({ nodeId: 'a:b' })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
    expect(() => new HybridLogicalClock({ nodeId: 'a', maxDriftMs: -1 })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    )
  })
})
