import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { parseWireEvent } from './sync-handler-push.js'
import { MAX_IDENTIFIER_LENGTH, wireEventSchema } from './schemas.js'

/** Values a pushed event's field may hold after `JSON.parse`, long identifiers included. */
const fieldValue = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.constantFrom('', 'x'.repeat(MAX_IDENTIFIER_LENGTH), 'x'.repeat(MAX_IDENTIFIER_LENGTH + 1)),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 }),
)

/** Mostly a valid identifier, sometimes anything. */
const identifier = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 5 }) },
  { weight: 1, arbitrary: fieldValue },
)

/** Items as a client might send them: mostly the event keys, some missing, some extra. */
const wireItem = fc.oneof(
  fc
    .record({
      id: identifier,
      type: identifier,
      aggregateId: identifier,
      data: fieldValue,
      metadata: fc.option(fieldValue, { nil: undefined, freq: 2 }),
      extra: fc.option(fieldValue, { nil: undefined, freq: 2 }),
      __proto__: fc.option(fieldValue, { nil: undefined, freq: 2 }),
    })
    // Through JSON, as the handler gets them (a `__proto__` key becomes an own property).
    .map((item) => JSON.parse(JSON.stringify(item)) as unknown),
  fieldValue,
)

describe('parseWireEvent', () => {
  // Its hand-written check of the common case must accept exactly what the schema accepts.
  it('Given any item, When it is checked, Then it is accepted exactly when wireEventSchema accepts it, and refused with invalid-event otherwise', () => {
    let accepted = 0
    fc.assert(
      fc.property(wireItem, (item) => {
        const expected = v.safeParse(wireEventSchema, item).success
        if (expected) accepted++
        let passed: boolean
        try {
          parseWireEvent(item, 0)
          passed = true
        } catch (error) {
          expect(isSyncKitError(error, 'invalid-event')).toBe(true)
          passed = false
        }
        expect(passed).toBe(expected)
      }),
      { numRuns: 2000 },
    )
    // Both sides were exercised.
    expect(accepted).toBeGreaterThan(100)
    expect(accepted).toBeLessThan(1900)
  })

  it('Given an item with a key that is not an event field, When it is checked, Then the error names that key', () => {
    const item = JSON.parse('{"id":"e1","type":"T","aggregateId":"a","data":{},"__proto__":1}')
    expect(() => parseWireEvent(item, 3)).toThrow(/events\[3\]/)
    expect(() =>
      parseWireEvent({ id: 'e1', type: 'T', aggregateId: 'a', data: 1, x: 1 }, 0),
    ).toThrow(expect.objectContaining({ code: 'invalid-event' }))
  })
})
