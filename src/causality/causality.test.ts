import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Event } from '../types/index.js'
import { readClock } from '../versions/clock-map.js'
import type * as ClockModule from '../versions/clock-map.js'
import { VectorClock } from '../versions/vector-clock.js'
import {
  MAX_CAUSAL_COUNT,
  causalClockOf,
  causalContextOf,
  causalContextSpans,
} from './causal-context.js'
import { causalRelation, eventRelation } from './event-relation.js'

function event(id: string, metadata: Record<string, string>): Event {
  return { id, type: 'T', aggregateId: 'x', data: null, metadata }
}

// The one parse of a causal context, watched: the real function behind a spy.
vi.mock('../versions/clock-map.js', async (importOriginal) => {
  const actual = await importOriginal<typeof ClockModule>()
  return { ...actual, readClock: vi.fn(actual.readClock) }
})

describe('causality', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('Given one event read for its dot and for its clock, then metadata.causal is parsed once (one cache)', () => {
    const parse = vi.mocked(readClock)
    parse.mockClear()
    const e = event('e1', { origin: 'a', causal: 'a:2,b:1' })

    const ctx = causalContextOf(e)
    const clock = causalClockOf(e)
    causalRelation(e, e)
    eventRelation(e, e)

    expect(parse).toHaveBeenCalledTimes(1)
    expect(ctx).toMatchObject({ origin: 'a', seq: 2 })
    expect(clock).toBe(ctx?.clock)
  })

  it('Given an event read once, frozen or not, When many other events are read, Then it is never parsed again and its stamps stay invisible', () => {
    const parse = vi.mocked(readClock)
    const open = event('open', { origin: 'a', causal: 'a:1' })
    const frozen = Object.freeze(event('frozen', { origin: 'b', causal: 'a:1,b:2' }))
    const before = [causalContextOf(open), causalContextOf(frozen)]
    for (let i = 0; i < 10_000; i++) causalContextOf(event(`e${i}`, { origin: 'a', causal: 'a:1' }))
    parse.mockClear()

    expect([causalContextOf(open), causalContextOf(frozen)]).toEqual(before)
    expect(causalContextOf(frozen)).toBe(before[1])
    expect(parse).toHaveBeenCalledTimes(0)
    // The stamp is no property: keys, JSON, spreads and freezing see the event as it was.
    expect(Object.keys(frozen)).toEqual(['id', 'type', 'aggregateId', 'data', 'metadata'])
    expect(JSON.parse(JSON.stringify(frozen))).toEqual({ ...frozen })
    expect(Object.isFrozen(frozen)).toBe(true)
    // A copy is another object: parsed on its own.
    causalContextOf({ ...frozen })
    expect(parse).toHaveBeenCalledTimes(1)
  })

  it('Given a context read with spans, then the spans hold every entry from the one parse, and none once cached', () => {
    const parse = vi.mocked(readClock)
    parse.mockClear()
    const text = 'a:4,b:2,c:9'
    const e = event('v1', { origin: 'b', causal: text })
    const spans = [7, 7, 7, 7, 7, 7, 7, 7, 7, 7]
    const read = (n: number): [string, number][] => {
      const out: [string, number][] = []
      for (let i = 0; i < 3 * n; i += 3) {
        out.push([text.slice(spans[i], spans[i + 1]), spans[i + 2] as number])
      }
      return out
    }

    const ctx = causalContextSpans(e, spans)
    expect(ctx).toMatchObject({ origin: 'b', seq: 2 })
    expect(read(ctx?.clock.size ?? 0)).toEqual([
      ['a', 4],
      ['b', 2],
      ['c', 9],
    ])
    // Parsed before: the spans say so (-1 first), not what they held.
    expect(causalContextSpans(e, spans)).toBe(causalContextOf(e))
    expect(spans[0]).toBe(-1)
    expect(parse).toHaveBeenCalledTimes(1)
  })

  it('Given a writer whose id is a prefix of another entry, then its dot is its own entry', () => {
    const e = event('p1', { origin: 'a', causal: 'a:3,ab:7,b.a:5' })
    const f = event('p2', { origin: 'ab', causal: 'a:3,ab:7' })
    const g = event('p3', { origin: 'x', causal: 'a:3,ab:7' })

    expect(causalContextOf(e)?.seq).toBe(3)
    expect(causalContextOf(f)?.seq).toBe(7)
    expect(causalContextOf(g)).toBeUndefined()
  })

  it('Given a merge event without a writer, then eventRelation still compares clocks while causalRelation is unknown', () => {
    const a = event('a1', { origin: 'a', causal: 'a:1' })
    const b = event('b1', { origin: 'b', causal: 'b:1' })
    const merge = event('m', { causal: 'a:1,b:1' })
    const later = event('a2', { origin: 'a', causal: 'a:2,b:1' })

    expect(causalContextOf(merge)).toBeUndefined()
    expect(eventRelation(a, merge)).toBe('before')
    expect(eventRelation(merge, b)).toBe('after')
    expect(eventRelation(merge, later)).toBe('before')
    expect(causalRelation(merge, later)).toBe('unknown')
    expect(causalRelation(a, b)).toBe('concurrent')
  })

  it('Given a counter past 2^48, then the event has no dot but keeps its clock', () => {
    const forged = event('f', { origin: 'a', causal: `a:${MAX_CAUSAL_COUNT + 1}` })
    const edge = event('g', { origin: 'a', causal: `a:${MAX_CAUSAL_COUNT}` })

    expect(causalContextOf(forged)).toBeUndefined()
    expect(causalClockOf(forged)?.get('a')).toBe(MAX_CAUSAL_COUNT + 1)
    expect(causalContextOf(edge)?.seq).toBe(MAX_CAUSAL_COUNT)
  })

  it('Given a malformed or missing causal context, or a writer without a dot, then neither reader finds one', () => {
    const malformed = event('m', { origin: 'a', causal: 'not a clock' })
    const missing = event('n', { origin: 'a' })
    const noDot = event('o', { origin: 'c', causal: 'a:1' })

    expect(causalContextOf(malformed)).toBeUndefined()
    expect(causalClockOf(malformed)).toBeUndefined()
    expect(causalClockOf(missing)).toBeUndefined()
    expect(causalContextOf(noDot)).toBeUndefined()
    expect(causalClockOf(noDot)?.toString()).toBe('a:1')
    expect(eventRelation(malformed, noDot)).toBe('unknown')
  })

  it('Given contexts that each claim to have seen the other (forged, or a reused node id), then both relations are concurrent, mirrored', () => {
    const a = event('a2', { origin: 'a', causal: 'a:2,b:1' })
    const b = event('b1', { origin: 'b', causal: 'a:2,b:1' })

    expect(causalRelation(a, b)).toBe('concurrent')
    expect(causalRelation(b, a)).toBe('concurrent')
    expect(eventRelation(a, b)).toBe('concurrent')
  })

  it('Given a bounded context that dropped an entry the earlier event carries, then eventRelation still finds happened-before by the dot', () => {
    // a1's writer had seen c:3; b1's writer saw a1 but kept only a and b in its bounded context.
    const a1 = event('a1', { origin: 'a', causal: 'a:1,c:3' })
    const b1 = event('b1', { origin: 'b', causal: 'a:1,b:1' })

    expect(eventRelation(a1, b1)).toBe('before')
    expect(eventRelation(b1, a1)).toBe('after')
    expect(VectorClock.parse('a:1,c:3').relation(VectorClock.parse('a:1,b:1'))).toBe('concurrent')
  })
})
