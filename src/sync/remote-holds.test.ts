import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import type { Event } from '../types/index.js'
import { RemoteHolds, addDot } from './remote-holds.js'
import { partsContext } from './sync-parts.fixture.js'

const dotted = (origin: string, seq: number): Event => ({
  id: `${origin}-${seq}`,
  type: 'T',
  aggregateId: 'x',
  data: null,
  metadata: { origin, causal: `${origin}:${seq}` },
})

describe('RemoteHolds', () => {
  it('Given any counters added in any order, then the intervals hold exactly those counters, sorted, disjoint and never adjacent', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 80 }), (counters) => {
        const ranges: number[] = []
        for (const n of counters) addDot(ranges, n)
        const held = new Set(counters)
        for (let n = 0; n <= 61; n++) {
          const inRanges = ranges.some(
            (lo, i) => i % 2 === 0 && n >= lo && n <= (ranges[i + 1] ?? 0),
          )
          expect(inRanges).toBe(held.has(n))
        }
        for (let i = 2; i < ranges.length; i += 2) {
          expect(ranges[i] as number).toBeGreaterThan((ranges[i - 1] as number) + 1)
        }
      }),
    )
  })

  it('Given dots pulled in one epoch, then they are held in that epoch only, events without a dot never are, and a new manager reads them back', async () => {
    const store = createMemoryStore()
    const { ctx } = partsContext({ store })
    const holds = new RemoteHolds(ctx)
    await holds.load(undefined)
    await holds.add([dotted('b', 1), dotted('b', 2), dotted('c', 5)], 'E1', undefined)
    const merge: Event = { ...dotted('b', 1), id: 'm', metadata: { origin: 'sync-kit:merge' } }

    expect(holds.has(dotted('b', 2), 'E1')).toBe(true)
    expect(holds.has(dotted('c', 4), 'E1')).toBe(false)
    expect(holds.has(dotted('b', 2), 'E2')).toBe(false)
    expect(holds.has(merge, 'E1')).toBe(false)
    const again = new RemoteHolds(partsContext({ store }).ctx)
    await again.load(undefined)
    expect(again.has(dotted('c', 5), 'E1')).toBe(true)
  })

  it('Given dots of one epoch, when a page of another epoch is added or the record is reset, then the earlier dots are forgotten', async () => {
    const { ctx } = partsContext()
    const holds = new RemoteHolds(ctx)
    await holds.load(undefined)
    await holds.add([dotted('b', 1)], 'E1', undefined)

    await holds.add([dotted('c', 1)], 'E2', undefined)
    expect(holds.has(dotted('b', 1), 'E2')).toBe(false)
    expect(holds.has(dotted('c', 1), 'E2')).toBe(true)
    await holds.reset(undefined)
    expect(holds.has(dotted('c', 1), 'E2')).toBe(false)
  })
})
