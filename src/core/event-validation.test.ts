import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event } from '../types/index.js'
import {
  EVENT_FIELD_MAX_LENGTH,
  EVENT_JSON_MAX_DEPTH,
  canonicalJson,
  deepFreeze,
  eventsEqual,
  jsonEqual,
  validateEvent,
} from './event-validation.js'

const base = { id: 'e1', type: 'Created', aggregateId: 'a1', data: { n: 1 } }

function rejection(fn: () => unknown): { code: string; message: string; details: unknown } {
  try {
    fn()
  } catch (error) {
    if (!isSyncKitError(error)) throw error
    return { code: error.code, message: error.message, details: error.details }
  }
  throw new Error('expected a SyncKitError, but the call succeeded')
}

describe('validateEvent', () => {
  it('returns a deep copy equal to a valid event', () => {
    const input = {
      ...base,
      data: { nested: { list: [1, 'two', null, true, { x: -1.5 }] } },
      metadata: { tenant: 't1', custom: [1] },
    }
    const copy = validateEvent(input, 'test')
    expect(copy).toEqual(input)
    expect(copy).not.toBe(input)
    expect(copy.data).not.toBe(input.data)
    expect(copy.metadata).not.toBe(input.metadata)
    input.data.nested.list.push(99)
    input.metadata.custom.push(2)
    expect((copy.data as typeof input.data).nested.list).toHaveLength(5)
    expect(copy.metadata?.['custom']).toEqual([1])
  })

  it('accepts primitive and null data', () => {
    for (const data of [null, 0, 'x', false, [], {}]) {
      expect(validateEvent({ ...base, data }, 'test').data).toEqual(data)
    }
  })

  it('omits metadata when absent and drops unknown top-level fields', () => {
    const copy = validateEvent({ ...base, version: 3, extra: 'x' }, 'test')
    expect(Object.keys(copy)).toEqual(['id', 'type', 'aggregateId', 'data'])
  })

  it('normalises like JSON: undefined properties dropped, -0 becomes 0', () => {
    const copy = validateEvent({ ...base, data: { a: undefined, b: -0 } }, 'test')
    expect(copy.data).toEqual({ b: 0 })
    expect(Object.is((copy.data as { b: number }).b, 0)).toBe(true)
    expect('a' in (copy.data as object)).toBe(false)
  })

  it('keeps a "__proto__" key as data instead of changing the prototype', () => {
    const input = JSON.parse('{"__proto__":{"polluted":true},"ok":1}') as unknown
    const copy = validateEvent({ ...base, data: input }, 'test')
    expect(Object.getPrototypeOf(copy.data)).toBe(Object.prototype)
    expect(Object.keys(copy.data as object)).toEqual(['__proto__', 'ok'])
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it('accepts null-prototype objects and shared (non-cyclic) references', () => {
    const shared = { s: 1 }
    const nullProto = Object.assign(Object.create(null) as object, { k: 'v' })
    const copy = validateEvent({ ...base, data: { a: shared, b: shared, c: nullProto } }, 'test')
    expect(copy.data).toEqual({ a: { s: 1 }, b: { s: 1 }, c: { k: 'v' } })
  })

  it('freezes the copy deeply when asked', () => {
    const copy = validateEvent({ ...base, data: { a: [{ b: 1 }] }, metadata: { m: {} } }, 'test', {
      freeze: true,
    })
    const data = copy.data as { a: { b: number }[] }
    expect(Object.isFrozen(copy)).toBe(true)
    expect(Object.isFrozen(data)).toBe(true)
    expect(Object.isFrozen(data.a)).toBe(true)
    expect(Object.isFrozen(data.a[0])).toBe(true)
    expect(Object.isFrozen(copy.metadata)).toBe(true)
    expect(Object.isFrozen(validateEvent(base, 'test'))).toBe(false)
  })

  it('Given a frozen copy it made, When validating it again with freeze, Then it is returned as it is (one copy per event)', () => {
    const frozen = validateEvent({ ...base, data: { a: [1] } }, 'test', { freeze: true })
    expect(validateEvent(frozen, 'memory', { freeze: true })).toBe(frozen)
    // Without freeze the caller gets a copy of its own, as always.
    const copy = validateEvent(frozen, 'memory')
    expect(copy).toEqual(frozen)
    expect(copy).not.toBe(frozen)
    // A deep-frozen event it did not make is copied: only its own copies are known valid.
    const foreign = deepFreeze({ ...base, data: { a: [1] } })
    expect(validateEvent(foreign, 'memory', { freeze: true })).not.toBe(foreign)
  })

  it('Given a copy it made without freeze and a caller then froze, When validating it with freeze, Then it is copied (its inside may still change)', () => {
    const unfrozen = validateEvent({ ...base, data: { a: [1] } }, 'test')
    Object.freeze(unfrozen)
    const copy = validateEvent(unfrozen, 'memory', { freeze: true })
    expect(copy).not.toBe(unfrozen)
    ;(unfrozen.data as { a: number[] }).a.push(2)
    expect(copy.data).toEqual({ a: [1] })
  })

  it('makes copies that are plain objects with only the event fields, frozen or not', () => {
    for (const freeze of [false, true]) {
      const copy = validateEvent({ ...base, metadata: { tenant: 't' } }, 'test', { freeze })
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
      expect(Object.keys(copy)).toEqual(['id', 'type', 'aggregateId', 'data', 'metadata'])
      expect(Reflect.ownKeys(validateEvent(base, 'test', { freeze }))).toEqual([
        'id',
        'type',
        'aggregateId',
        'data',
      ])
      expect(JSON.parse(JSON.stringify(copy))).toEqual(copy)
    }
  })

  it.each([
    ['null', null],
    ['a string', 'e1'],
    ['an array', [base]],
    [
      'a class instance',
      new (class Thing {
        readonly x = 1
      })(),
    ],
  ])('rejects %s as an event', (_name, event) => {
    const error = rejection(() => validateEvent(event, 'memory'))
    expect(error.code).toBe('invalid-event')
    expect(error.message).toMatch(/^\[sync-kit\] \[memory\] event an event must be a plain object/)
  })

  it.each([
    ['id', { ...base, id: '' }, /has an empty id/],
    ['id', { ...base, id: 7 }, /id that is number 7/],
    ['id', { type: 'T', aggregateId: 'a', data: 1 }, /has no id/],
    ['id', { ...base, id: 'x'.repeat(EVENT_FIELD_MAX_LENGTH + 1) }, /at most 512/],
    ['type', { ...base, type: '' }, /has an empty type/],
    ['aggregateId', { ...base, aggregateId: null }, /aggregateId that is null/],
    ['aggregateId', { ...base, aggregateId: 'a\uD800' }, /lone UTF-16 surrogate/],
  ])('rejects a bad %s', (field, event, message) => {
    const error = rejection(() => validateEvent(event, 'sqlite'))
    expect(error.code).toBe('invalid-event')
    expect(error.message).toMatch(message)
    expect(error.message).toMatch(/^\[sync-kit\] \[sqlite\] event/)
    expect((error.details as { field: string }).field).toBe(field)
  })

  it('accepts fields of exactly the maximum length', () => {
    const id = 'x'.repeat(EVENT_FIELD_MAX_LENGTH)
    expect(validateEvent({ ...base, id }, 'test').id).toBe(id)
  })

  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic['self'] = { back: cyclic }
  let deep: unknown = 1
  for (let i = 0; i <= EVENT_JSON_MAX_DEPTH; i++) deep = [deep]
  const sparse: number[] = [1]
  sparse[2] = 3

  it.each([
    ['missing data', { id: 'e1', type: 'T', aggregateId: 'a' }, 'data', /has no data/],
    ['a function', { ...base, data: { f: () => 1 } }, 'data.f', /function/],
    ['a symbol', { ...base, data: [Symbol('s')] }, 'data[0]', /symbol/],
    ['a bigint', { ...base, data: { n: 1n } }, 'data.n', /bigint/],
    ['NaN', { ...base, data: { n: NaN } }, 'data.n', /NaN/],
    ['Infinity', { ...base, data: [[-Infinity]] }, 'data[0][0]', /-Infinity/],
    ['undefined in an array', { ...base, data: [1, undefined] }, 'data[1]', /undefined/],
    ['a sparse array', { ...base, data: sparse }, 'data[1]', /undefined/],
    ['a Date', { ...base, data: { at: new Date(0) } }, 'data.at', /Date.*toISOString/],
    ['a Map', { ...base, data: { m: new Map() } }, 'data.m', /Map instance/],
    ['a cycle', { ...base, data: cyclic }, 'data.self.back', /cycle/],
    [
      'deep nesting',
      { ...base, data: deep },
      'data' + '[0]'.repeat(EVENT_JSON_MAX_DEPTH),
      /deeper/,
    ],
    ['a lone surrogate', { ...base, data: { s: 'ok\uDC00' } }, 'data.s', /lone UTF-16/],
    ['a lone surrogate key', { ...base, data: { '\uD83D': 1 } }, 'data["\\ud83d"]', /key/],
    ['an odd key', { ...base, data: { 'a b': [NaN] } }, 'data["a b"][0]', /NaN/],
    ['array metadata', { ...base, metadata: [] }, 'metadata', /plain object/],
    ['null metadata', { ...base, metadata: null }, 'metadata', /plain object/],
    ['a non-string tenant', { ...base, metadata: { tenant: 1 } }, 'metadata.tenant', /reserved/],
    ['a non-string hlc', { ...base, metadata: { hlc: null } }, 'metadata.hlc', /reserved/],
    ['an object origin', { ...base, metadata: { origin: {} } }, 'metadata.origin', /reserved/],
    ['an array causal', { ...base, metadata: { causal: [] } }, 'metadata.causal', /reserved/],
    ['a bad metadata value', { ...base, metadata: { x: NaN } }, 'metadata.x', /NaN/],
  ])('rejects %s with the field path', (_name, event, field, message) => {
    const error = rejection(() => validateEvent(event, 'hub'))
    expect(error.code).toBe('invalid-event')
    expect(error.message).toMatch(message)
    expect(error.message).toMatch(/^\[sync-kit\] \[hub\] event "e1" /)
    expect(error.details).toEqual({ eventId: 'e1', field })
  })

  it('accepts nesting up to the maximum depth', () => {
    let value: unknown = 1
    for (let i = 0; i < EVENT_JSON_MAX_DEPTH; i++) value = { v: value }
    expect(validateEvent({ ...base, data: value }, 'test').data).toEqual(value)
  })

  it('preserves well-formed Unicode (emoji, combining marks, RTL, NUL)', () => {
    const s = '😀 é e\u0301 שלום \u0000 \u202E 𝌆'
    const copy = validateEvent({ ...base, id: s, data: { [s]: s } }, 'test')
    expect(copy.id).toBe(s)
    expect(copy.data).toEqual({ [s]: s })
  })

  it('behaves like a JSON round trip on any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (data) => {
        const copy = validateEvent({ ...base, data }, 'test')
        expect(copy.data).toEqual(JSON.parse(JSON.stringify(data)))
      }),
    )
  })
})

describe('canonicalJson', () => {
  it('sorts keys recursively and matches JSON.stringify otherwise', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }, null], é: '\u0000' })).toBe(
      '{"a":[{"c":2,"d":1},null],"b":1,"é":"\\u0000"}',
    )
    expect(canonicalJson(-0)).toBe('0')
    expect(canonicalJson({ a: undefined, b: 1e21 })).toBe('{"b":1e+21}')
    expect(canonicalJson('\uD800')).toBe('"\\ud800"')
  })

  it.each([
    ['NaN', NaN],
    ['a function', () => 1],
    ['a bigint', 1n],
    ['a Date', new Date(0)],
    ['undefined in an array', [undefined]],
  ])('rejects %s with invalid-argument', (_name, value) => {
    expect(rejection(() => canonicalJson(value)).code).toBe('invalid-argument')
  })

  it('rejects a cycle instead of overflowing the stack', () => {
    const a: unknown[] = []
    a.push(a)
    expect(rejection(() => canonicalJson(a)).code).toBe('invalid-argument')
  })

  it('is a JSON text of the same value, independent of key order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value)
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)))
        const reversed = JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
          typeof v === 'object' && v !== null && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        ) as unknown
        expect(canonicalJson(reversed)).toBe(text)
      }),
    )
  })
})

describe('eventsEqual and jsonEqual', () => {
  const a: Event = { ...base, data: { x: [1, { y: 2 }] }, metadata: { tenant: 't' } }

  it('ignores key order, -0 and undefined properties', () => {
    expect(eventsEqual(a, { ...a, data: { x: [1, { y: 2 }] } })).toBe(true)
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true)
    expect(jsonEqual({ a: -0 }, { a: 0 })).toBe(true)
    expect(jsonEqual({ a: 1, u: undefined }, { a: 1 })).toBe(true)
    expect(jsonEqual({ a: 1 }, { a: 1, u: undefined })).toBe(true)
  })

  it('treats absent metadata as equal to empty metadata only', () => {
    const noMeta: Event = { id: a.id, type: a.type, aggregateId: a.aggregateId, data: a.data }
    expect(eventsEqual(noMeta, { ...noMeta, metadata: {} })).toBe(true)
    expect(eventsEqual({ ...noMeta, metadata: {} }, noMeta)).toBe(true)
    expect(eventsEqual(noMeta, a)).toBe(false)
    expect(eventsEqual(a, noMeta)).toBe(false)
  })

  it.each([
    ['id', { ...a, id: 'e2' }],
    ['type', { ...a, type: 'Other' }],
    ['aggregateId', { ...a, aggregateId: 'a2' }],
    ['data', { ...a, data: { x: [1, { y: 3 }] } }],
    ['data shape', { ...a, data: { x: { 0: 1, 1: { y: 2 } } } }],
    ['data length', { ...a, data: { x: [1, { y: 2 }, null] } }],
    ['metadata', { ...a, metadata: { tenant: 'u' } }],
    ['extra metadata', { ...a, metadata: { tenant: 't', hlc: 'h' } }],
  ])('tells events apart by %s', (_name, b) => {
    expect(eventsEqual(a, b)).toBe(false)
    expect(eventsEqual(b, a)).toBe(false)
  })

  it('agrees with canonicalJson (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (x, y) => {
        expect(jsonEqual(x, y)).toBe(canonicalJson(x) === canonicalJson(y))
        expect(jsonEqual(x, JSON.parse(JSON.stringify(x)))).toBe(true)
      }),
    )
  })
})

describe('deepFreeze', () => {
  it('freezes nested objects and arrays and returns the same value', () => {
    const value = { a: [{ b: 1 }], c: { d: {} } }
    expect(deepFreeze(value)).toBe(value)
    expect(Object.isFrozen(value.a[0])).toBe(true)
    expect(Object.isFrozen(value.c.d)).toBe(true)
    expect(() => {
      ;(value.a as unknown[]).push(2)
    }).toThrow(TypeError)
  })

  it('handles primitives and cycles', () => {
    expect(deepFreeze(5)).toBe(5)
    expect(deepFreeze(null)).toBe(null)
    const cycle: Record<string, unknown> = {}
    cycle['self'] = cycle
    expect(Object.isFrozen(deepFreeze(cycle))).toBe(true)
  })
})

describe('canonicalJson and validateEvent limits', () => {
  it('writes a whole event whose data is nested to the validation limit', () => {
    let data: unknown = 1
    for (let i = 0; i < EVENT_JSON_MAX_DEPTH; i++) data = [data]
    const event = validateEvent({ ...base, data }, 'test')
    expect(JSON.parse(canonicalJson(event))).toEqual(JSON.parse(JSON.stringify(event)))
  })
})
