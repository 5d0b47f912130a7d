/**
 * The parsed-stamps cache on engines that apply the TC39 proposal "Disallow Adding New Private
 * Fields to Non-extensible Objects" (stage 3): adding a private field to a frozen, sealed or
 * non-extensible object throws a `TypeError`. Emulated by a `Stamp` base that throws as
 * `PrivateFieldAdd` then does; the events a store keeps are frozen copies, so every reader must
 * still answer (and parse each event once).
 */
import { describe, expect, it, vi } from 'vitest'
import type * as StampModule from '../core/stamp.js'
import { isSealedEvent, validateEvent } from '../core/event-validation.js'
import { createMemoryStore } from '../stores/memory/memory-store.js'
import type { Event } from '../types/index.js'
import { readClock } from '../versions/clock-map.js'
import type * as ClockModule from '../versions/clock-map.js'
import { causalClockOf, causalContextOf } from './causal-context.js'
import { eventRelation } from './event-relation.js'

vi.mock('../core/stamp.js', () => ({
  Stamp: function (object: object) {
    if (!Object.isExtensible(object)) throw new TypeError('Cannot define private field')
    return object
  } as unknown as typeof StampModule.Stamp,
}))
vi.mock('../versions/clock-map.js', async (importOriginal) => {
  const actual = await importOriginal<typeof ClockModule>()
  return { ...actual, readClock: vi.fn(actual.readClock) }
})

function event(id: string, origin: string, causal: string): Event {
  return { id, type: 'T', aggregateId: 'x', data: null, metadata: { origin, causal } }
}

describe('causal-context: engines where frozen objects take no private field', () => {
  it('Given frozen, sealed and non-extensible events, When read twice, Then each parses once and answers', () => {
    const parse = vi.mocked(readClock)
    parse.mockClear()
    const events = [
      Object.freeze(event('f', 'a', 'a:1')),
      Object.seal(event('s', 'b', 'a:1,b:1')),
      Object.preventExtensions(event('p', 'a', 'a:2,b:1')),
    ]
    for (const e of events) expect(causalContextOf(e)?.seq).toBeGreaterThan(0)
    for (const e of events) expect(causalClockOf(e)).toBe(causalContextOf(e)?.clock)
    expect(parse).toHaveBeenCalledTimes(3)
  })

  it('Given the frozen copies validateEvent and the memory store make, Then they stay sealed and their relation reads', async () => {
    const a = validateEvent(event('a', 'a', 'a:1'), 'test', { freeze: true })
    expect(isSealedEvent(a)).toBe(true)
    const store = createMemoryStore()
    await store.store(a)
    await store.store(event('b', 'b', 'a:1,b:1'))
    const [x, y] = (await store.loadByAggregate('x', null)).map((stored) => stored.event) as [
      Event,
      Event,
    ]
    expect(Object.isFrozen(y)).toBe(true)
    expect(eventRelation(x, y)).toBe('before')
    expect(eventRelation(y, a)).toBe('after')
  })
})
