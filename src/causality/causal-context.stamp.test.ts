/**
 * The parsed-stamps cache on the event objects (`ParsedStamps`, a private field added through
 * `Stamp`), attacked with the objects an app may hand in: frozen, sealed, non-extensible, null
 * prototypes, class instances, proxies, validated (sealed-marked) copies, non-objects, and an
 * event whose `metadata` reads it back, or parses other events, while it is parsed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSealedEvent, validateEvent } from '../core/event-validation.js'
import { createMemoryStore } from '../stores/memory/memory-store.js'
import type { Event } from '../types/index.js'
import { readClock } from '../versions/clock-map.js'
import { VectorClock } from '../versions/vector-clock.js'
import type * as ClockModule from '../versions/clock-map.js'
import { causalClockOf, causalContextOf, withFoldCache } from './causal-context.js'
import { causalRelation, eventRelation } from './event-relation.js'

vi.mock('../versions/clock-map.js', async (importOriginal) => {
  const actual = await importOriginal<typeof ClockModule>()
  return { ...actual, readClock: vi.fn(actual.readClock) }
})

let n = 0
function event(origin: string, causal: string): Event {
  return { id: `e${++n}`, type: 'T', aggregateId: 'x', data: null, metadata: { origin, causal } }
}

/** An event whose `metadata` is a getter running `get` on each read. */
function gettingMetadata(get: () => NonNullable<Event['metadata']>): Event {
  return {
    id: `e${++n}`,
    type: 'T',
    aggregateId: 'x',
    data: null,
    get metadata() {
      return get()
    },
  }
}

const parses = (): number => vi.mocked(readClock).mock.calls.length

describe('causal-context: the stamp on the event object', () => {
  afterEach(() => {
    vi.mocked(readClock).mockClear()
  })

  it.each([
    ['frozen', (e: Event) => Object.freeze(e)],
    ['sealed', (e: Event) => Object.seal(e)],
    ['non-extensible', (e: Event) => Object.preventExtensions(e)],
    ['null-prototype', (e: Event) => Object.assign(Object.create(null) as Event, e)],
    [
      'class instance',
      (e: Event) =>
        Object.assign(
          new (class Ev {
            readonly kind = 'event'
          })() as unknown as Event,
          e,
        ),
    ],
    ['proxy', (e: Event) => new Proxy(e, {})],
  ])(
    'Given a %s event, When read twice, Then it parses once and keeps its keys, integrity and JSON',
    (_name, make) => {
      const e = make(event('a', 'a:2,b:1'))
      const before = { keys: Object.keys(e), json: JSON.stringify(e), frozen: Object.isFrozen(e) }
      const start = parses()
      expect(causalContextOf(e)).toMatchObject({ origin: 'a', seq: 2 })
      expect(causalClockOf(e)?.text).toBe('a:2,b:1')
      expect(causalRelation(e, e)).toBe('equal')
      expect(parses() - start).toBe(1)
      expect({ keys: Object.keys(e), json: JSON.stringify(e), frozen: Object.isFrozen(e) }).toEqual(
        before,
      )
    },
  )

  it('Given a proxy whose every trap throws, When read, Then the handler’s own error comes out, not a TypeError of the stamp', () => {
    const boom = new Error('trap')
    const traps = [
      'get',
      'has',
      'getPrototypeOf',
      'isExtensible',
      'defineProperty',
      'getOwnPropertyDescriptor',
    ]
    const throwing = Object.fromEntries(
      traps.map((trap) => [
        trap,
        () => {
          throw boom
        },
      ]),
    ) as ProxyHandler<Event>
    const hostile = new Proxy({} as Event, throwing)
    expect(() => causalContextOf(hostile)).toThrow(boom)
  })

  it.each([null, undefined, 'a:1', 42])(
    'Given %s passed as an event, Then the readers answer undefined and unknown, without a crash',
    (bad) => {
      const value = bad as unknown as Event
      const good = event('a', 'a:1')
      expect(causalContextOf(value)).toBeUndefined()
      expect(causalClockOf(value)).toBeUndefined()
      expect(causalRelation(value, good)).toBe('unknown')
      expect(eventRelation(good, value)).toBe('unknown')
    },
  )

  it('Given an event whose metadata getter reads the event’s own context while it is parsed, Then both reads agree and nothing throws', () => {
    let inner: unknown
    const metadata = { origin: 'a', causal: 'a:3' }
    const e = gettingMetadata(() => {
      if (inner === undefined) {
        inner = null
        inner = causalContextOf(e)
      }
      return metadata
    })
    expect(causalContextOf(e)).toMatchObject({ origin: 'a', seq: 3 })
    expect(inner).toMatchObject({ origin: 'a', seq: 3 })
  })

  it('Given an event whose metadata getter parses other events and clocks on every read (the parse walks into one shared scratch), Then its dot and clock are its own', () => {
    const own = { origin: 'w', causal: 'a:7,w:3' }
    const e = gettingMetadata(() => {
      // Another writer's context whose second entry sits where w's does in the event's text.
      causalContextOf(event('w', 'b:1,c:2,d:4,w:9,x:1'))
      VectorClock.parse('b:1,c:2,d:4,w:9,x:1')
      return own
    })
    const ctx = causalContextOf(e)
    expect(ctx).toMatchObject({ origin: 'w', seq: 3 })
    expect(ctx?.clock.max).toBe(7)
    expect([...(ctx?.clock ?? [])]).toEqual([
      ['a', 7],
      ['w', 3],
    ])
  })

  it('Given a validated frozen copy (sealed mark), When its stamps are read, Then it stays sealed, equal to its source and kept as is by validateEvent and the memory store', async () => {
    const source = event('a', 'a:1')
    const copy = validateEvent(source, 'test', { freeze: true })
    expect(causalContextOf(copy)).toMatchObject({ origin: 'a', seq: 1 })
    expect(isSealedEvent(copy)).toBe(true)
    expect(validateEvent(copy, 'test', { freeze: true })).toBe(copy)
    expect(copy).toStrictEqual(source)
    expect(structuredClone(copy)).toStrictEqual(source)
    expect({ ...copy }).toStrictEqual(source)
    const store = createMemoryStore()
    await store.store(copy)
    const [stored] = await store.loadByAggregate('x', null)
    expect(stored?.event).toBe(copy)
    expect(causalContextOf(stored?.event as Event)).toBe(causalContextOf(copy))
  })

  it('Given nested folds, one throwing, Then reads inside parse once per fold and stamp nothing; after them a read stamps the event', () => {
    const e = Object.freeze(event('a', 'a:1'))
    const start = parses()
    expect(() =>
      withFoldCache(() => {
        causalContextOf(e)
        withFoldCache(() => {
          causalContextOf(e)
          causalClockOf(e)
          throw new Error('inner')
        })
      }),
    ).toThrow('inner')
    // Outer fold parsed once, inner fold once: nothing stamped on the event.
    expect(parses() - start).toBe(2)
    const outside = causalContextOf(e)
    expect(parses() - start).toBe(3)
    // Stamped now: later reads outside a fold hit the stamp.
    expect(causalContextOf(e)).toBe(outside)
    expect(parses() - start).toBe(3)
  })
})
