import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, Filter } from '../types/index.js'
import {
  TOMBSTONE_EVENT_TYPE,
  compileFilters,
  groupFilters,
  includeTombstones,
  validateLimit,
} from './filters.js'

function ev(type: string, aggregateId: string, tenant?: string): Event {
  return tenant === undefined
    ? { id: `${type}-${aggregateId}`, type, aggregateId, data: null }
    : {
        id: `${type}-${aggregateId}-${tenant}`,
        type,
        aggregateId,
        data: null,
        metadata: { tenant },
      }
}

function codeOf(fn: () => unknown): { code: string; message: string; details: unknown } {
  try {
    fn()
  } catch (error) {
    if (isSyncKitError(error)) return error
    throw error
  }
  throw new Error('expected a SyncKitError, but the call succeeded')
}

describe('compileFilters', () => {
  const events = [
    ev('A', 'x', 't1'),
    ev('B', 'x', 't1'),
    ev('C', 'y', 't1'),
    ev('A', 'y', 't2'),
    ev('B', 'z'),
  ]

  it('accepts everything without filters', () => {
    expect(events.filter(compileFilters(undefined, 'test'))).toEqual(events)
    expect(events.filter(compileFilters([], 'test'))).toEqual(events)
  })

  it('matches each standard key exactly', () => {
    const byType = compileFilters([{ key: 'type', value: 'A' }], 'test')
    expect(events.filter(byType).map((e) => e.id)).toEqual(['A-x-t1', 'A-y-t2'])
    const byTenant = compileFilters([{ key: 'tenant', value: 't2' }], 'test')
    expect(events.filter(byTenant).map((e) => e.id)).toEqual(['A-y-t2'])
    const byAggregate = compileFilters([{ key: 'aggregate_id', value: 'x' }], 'test')
    expect(events.filter(byAggregate).map((e) => e.id)).toEqual(['A-x-t1', 'B-x-t1'])
  })

  it('ORs values of the same key and ANDs different keys', () => {
    const match = compileFilters(
      [
        { key: 'type', value: 'A' },
        { key: 'type', value: 'B' },
        { key: 'tenant', value: 't1' },
      ],
      'test',
    )
    expect(events.filter(match).map((e) => e.id)).toEqual(['A-x-t1', 'B-x-t1'])
  })

  it('never matches a tenant filter on an event without a tenant', () => {
    const match = compileFilters([{ key: 'tenant', value: '' }], 'test')
    expect(match(ev('B', 'z'))).toBe(false)
  })

  it('agrees with a naive evaluation (property)', () => {
    const key = fc.constantFrom('type', 'tenant', 'aggregate_id')
    const value = fc.constantFrom('A', 'B', 't1', 't2', 'x', 'y')
    fc.assert(
      fc.property(fc.array(fc.record({ key, value }), { maxLength: 6 }), (filters) => {
        const match = compileFilters(filters, 'test')
        for (const event of events) {
          const field = (k: string): unknown =>
            k === 'type' ? event.type : k === 'tenant' ? event.metadata?.tenant : event.aggregateId
          const keys = new Set(filters.map((f) => f.key))
          const expected = [...keys].every((k) =>
            filters.some((f) => f.key === k && f.value === field(k)),
          )
          expect(match(event)).toBe(expected)
        }
      }),
    )
  })

  it('rejects an unknown key with unsupported-filter', () => {
    const error = codeOf(() => compileFilters([{ key: 'tag', value: 'x' }], 'memory'))
    expect(error.code).toBe('unsupported-filter')
    expect(error.details).toEqual({ key: 'tag' })
    expect(error.message).toMatch(/^\[sync-kit\] \[memory\] filter key "tag" is not supported/)
  })

  it.each([
    ['a non-array', { key: 'type', value: 'A' }],
    ['a null filter', [null]],
    ['a string filter', ['type=A']],
    ['a missing key', [{ value: 'A' }]],
    ['a numeric value', [{ key: 'type', value: 1 }]],
    ['a missing value', [{ key: 'tenant' }]],
  ])('rejects %s with invalid-argument', (_name, filters) => {
    const error = codeOf(() => compileFilters(filters as unknown as Filter[], 'memory'))
    expect(error.code).toBe('invalid-argument')
    expect(error.details).toEqual({ argument: 'filters' })
    expect(error.message).toMatch(/^\[sync-kit\] \[memory\] filter/)
  })
})

describe('the delete rule: a type filter also matches tombstones', () => {
  const tombstone = (aggregateId: string, tenant?: string): Event =>
    ev(TOMBSTONE_EVENT_TYPE, aggregateId, tenant)

  it('Given a type filter, When a tombstone of any aggregate is matched, Then it passes; tenant and aggregate filters still apply to it', () => {
    const byType = compileFilters([{ key: 'type', value: 'A' }], 'test')
    expect(byType(tombstone('x'))).toBe(true)
    expect(byType(ev('B', 'x'))).toBe(false)
    const inTenant = compileFilters(
      [
        { key: 'type', value: 'A' },
        { key: 'tenant', value: 't1' },
      ],
      'test',
    )
    expect(inTenant(tombstone('x', 't1'))).toBe(true)
    expect(inTenant(tombstone('x', 't2'))).toBe(false)
    expect(inTenant(tombstone('x'))).toBe(false)
    const ofAggregate = compileFilters(
      [
        { key: 'type', value: 'A' },
        { key: 'aggregate_id', value: 'y' },
      ],
      'test',
    )
    expect(ofAggregate(tombstone('y'))).toBe(true)
    expect(ofAggregate(tombstone('x'))).toBe(false)
    expect(compileFilters([{ key: 'tenant', value: 't1' }], 'test')(tombstone('x', 't2'))).toBe(
      false,
    )
  })

  it('includeTombstones adds the tombstone type to a type group only, once', () => {
    expect(includeTombstones(undefined)).toBeUndefined()
    const tenantOnly = groupFilters([{ key: 'tenant', value: 't1' }], 'test')
    expect(includeTombstones(tenantOnly)).toBe(tenantOnly)
    expect(includeTombstones(groupFilters([{ key: 'type', value: 'A' }], 'test'))).toEqual({
      type: ['A', TOMBSTONE_EVENT_TYPE],
    })
    const already = groupFilters([{ key: 'type', value: TOMBSTONE_EVENT_TYPE }], 'test')
    expect(includeTombstones(already)).toEqual({ type: [TOMBSTONE_EVENT_TYPE] })
  })
})

describe('groupFilters', () => {
  it('groups by key and drops repeated values', () => {
    expect(
      groupFilters(
        [
          { key: 'aggregate_id', value: 'x' },
          { key: 'type', value: 'B' },
          { key: 'type', value: 'A' },
          { key: 'type', value: 'B' },
        ],
        'test',
      ),
    ).toEqual({ type: ['B', 'A'], aggregateId: ['x'] })
    expect(groupFilters([], 'test')).toBeUndefined()
  })
})

describe('validateLimit', () => {
  it('passes positive integers and undefined through', () => {
    expect(validateLimit(undefined, 'test')).toBeUndefined()
    expect(validateLimit(1, 'test')).toBe(1)
    expect(validateLimit(Number.MAX_SAFE_INTEGER, 'test')).toBe(Number.MAX_SAFE_INTEGER)
  })

  it.each([0, -1, 1.5, NaN, Infinity, 2 ** 53, '10', null, 10n])('rejects %s', (limit) => {
    const error = codeOf(() => validateLimit(limit, 'memory'))
    expect(error.code).toBe('invalid-argument')
    expect(error.details).toEqual({ argument: 'limit' })
    expect(error.message).toMatch(/^\[sync-kit\] \[memory\] limit must be a positive integer/)
  })
})
