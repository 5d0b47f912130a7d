/**
 * The hand check of stream messages (`isPlainEventWithVersion`) takes only what
 * `eventWithVersionSchema` takes as it is: for every value it accepts, the schema succeeds with an
 * equal output.
 */
import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { eventWithVersionSchema, isPlainEventWithVersion } from './schemas.js'

const anyJson = fc.jsonValue({ maxDepth: 2 })
const key = fc.constantFrom('id', 'type', 'aggregateId', 'data', 'metadata', 'extra', '__proto__')
const event = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.string(), anyJson),
      type: fc.oneof(fc.string(), anyJson),
      aggregateId: fc.oneof(fc.string(), anyJson),
      data: anyJson,
      metadata: fc.oneof(fc.dictionary(fc.string(), anyJson), anyJson),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(key, anyJson),
  anyJson,
)
const message = fc.oneof(
  fc.record(
    {
      event,
      version: fc.oneof(
        fc.string({ maxLength: 3 }),
        fc.string({ minLength: 1020, maxLength: 1030 }),
        anyJson,
      ),
      extra: anyJson,
    },
    { requiredKeys: [] },
  ),
  anyJson,
)

describe('isPlainEventWithVersion', () => {
  it('Given any parsed message, When the hand check accepts it, Then the schema accepts it too and its output equals the message', () => {
    fc.assert(
      fc.property(message, (value) => {
        // As a stream message is: parsed from JSON text.
        const parsed: unknown = JSON.parse(JSON.stringify(value) ?? 'null')
        if (!isPlainEventWithVersion(parsed)) return
        const result = v.safeParse(eventWithVersionSchema, parsed)
        expect(result.success).toBe(true)
        expect(result.success && result.output).toEqual(parsed)
      }),
      { numRuns: 5000 },
    )
  })

  it('Given a plain stream message, Then the hand check accepts it; given one with an extra key, a missing data or a bad version, Then it leaves it to the schema', () => {
    const ok = {
      event: { id: 'e1', type: 'T', aggregateId: 'a', data: null, metadata: { hlc: 'x' } },
      version: '7',
    }
    expect(isPlainEventWithVersion(ok)).toBe(true)
    expect(isPlainEventWithVersion({ ...ok, extra: 1 })).toBe(false)
    expect(isPlainEventWithVersion({ ...ok, event: { ...ok.event, extra: 1 } })).toBe(false)
    expect(
      isPlainEventWithVersion({ ...ok, event: { id: 'e1', type: 'T', aggregateId: 'a' } }),
    ).toBe(false)
    expect(isPlainEventWithVersion({ ...ok, version: '' })).toBe(false)
    expect(isPlainEventWithVersion({ ...ok, event: { ...ok.event, metadata: [] } })).toBe(false)
  })
})
