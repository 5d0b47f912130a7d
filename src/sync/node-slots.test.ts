import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readClock, writeClock } from '../versions/clock-map.js'
import { NodeSlots } from './node-slots.js'

const node = fc.stringMatching(/^[A-Za-z0-9._~-]{1,5}$/)
/** A context as a writer writes it: sorted unique node ids with positive counts. */
const context = fc
  .uniqueArray(fc.tuple(node, fc.integer({ min: 1, max: 2 ** 48 })), {
    selector: ([n]) => n,
    maxLength: 40,
  })
  .map((entries) => writeClock(entries))

describe('NodeSlots', () => {
  it('Given contexts over growing, overlapping sets of node ids, read from the checked text or while parsed, then each is read into the slots of exactly its entries, and slots stay stable', () => {
    fc.assert(
      fc.property(fc.array(context, { minLength: 1, maxLength: 30 }), (texts) => {
        const slots = new NodeSlots()
        const pairs: number[] = []
        const spans: number[] = []
        const first = new Map<string, number>()
        texts.forEach((text, k) => {
          // Read from the checked text, or from the spans of its parse (`pairsOf`): the same.
          let n: number
          if (k % 2 === 0) n = slots.read(text, pairs, spans)
          else {
            n = readClock(text, spans)?.size ?? -1
            slots.pairsOf(text, spans, n, pairs)
          }
          const read = [] as [string, number][]
          for (let i = 0; i < 2 * n; i += 2) {
            const name = slots.names[pairs[i] as number] as string
            read.push([name, pairs[i + 1] as number])
            // A node keeps the slot it was first given.
            if (!first.has(name)) first.set(name, pairs[i] as number)
            expect(pairs[i]).toBe(first.get(name))
            expect(slots.peek(name)).toBe(pairs[i])
          }
          expect(read).toEqual([...(readClock(text) as ReadonlyMap<string, number>)])
        })
        expect(slots.size).toBe(first.size)
        // slotOf agrees, and gives a new node a slot that the next read finds.
        const fresh = 'zzzzzz'
        const slot = slots.slotOf(fresh)
        expect(slots.read(`${fresh}:3`, pairs, spans)).toBe(1)
        expect(pairs.slice(0, 2)).toEqual([slot, 3])
      }),
      { numRuns: 300 },
    )
  })

  it('Given a context naming few of many known nodes, then it is still read exactly', () => {
    const slots = new NodeSlots()
    const pairs: number[] = []
    const spans: number[] = []
    const many = Array.from({ length: 1000 }, (_, i) => `n${String(i).padStart(5, '0')}`)
    slots.read(writeClock(many.map((n) => [n, 1])), pairs, spans)
    const few: [string, number][] = [
      ['a', 1],
      ['n00000', 2],
      ['n00500', 3],
      ['n00500x', 9],
      ['n00999', 4],
      ['zz', 5],
    ]
    // Fewer than the last read: only the pairs it returns count.
    const n = slots.read(writeClock(few), pairs, spans)
    expect(n).toBe(few.length)
    const read: [string, number][] = []
    for (let i = 0; i < 2 * n; i += 2)
      read.push([slots.names[pairs[i] as number] as string, pairs[i + 1] as number])
    expect(read).toEqual(few)
    expect(slots.size).toBe(1003)
    // Read again, the hints of the first read do not mislead the second.
    expect(slots.read(writeClock(many.map((n) => [n, 2])), pairs, spans)).toBe(1000)
    for (let i = 0; i < 2000; i += 2) expect(slots.names[pairs[i] as number]).toBe(many[i / 2])
    expect(slots.size).toBe(1003)
  })
})
