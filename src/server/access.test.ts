import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/memory-store.js'
import { createAccessPolicy } from './access.js'
import { createSyncServer } from './sync-server.js'

const utf8 = new TextEncoder()
const bytes = (text: string): number => utf8.encode(text).byteLength

/** Number literals that print longer than written, and some that do not. */
const NUMBERS = [
  '1e20',
  '-1e20',
  '9e20',
  '1e9',
  '1E5',
  '1e-7',
  '0.1e2',
  '-0',
  '5e-324',
  '7',
  '1e21',
]
/** String bodies in escapes that print shorter, as long, or raw. */
const STRING_PARTS = [
  '\\u0041',
  '\\/',
  '\\n',
  '\\u0001',
  '\\"',
  '\\\\',
  'é',
  '\\u00e9',
  '\\ud83d\\ude00',
  '😀',
  'a',
]

/** JSON texts written as a client could write them: any spacing, escapes, number literals. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...NUMBERS),
    fc.constantFrom('true', 'false', 'null'),
    fc.array(fc.constantFrom(...STRING_PARTS), { maxLength: 4 }).map((p) => `"${p.join('')}"`),
    fc
      .array(tie('value'), { maxLength: 4 })
      .chain((items) => fc.constantFrom(',', ' , ').map((sep) => `[${items.join(sep)}]`)),
    fc
      .array(fc.tuple(fc.constantFrom('"k"', '"\\u006b"', '"k2"'), tie('value')), { maxLength: 3 })
      .map((entries) => `{ ${entries.map(([k, v]) => `${k} : ${v}`).join(',')} }`),
  ),
})).value

describe('access policy: measuring pushed events', () => {
  it('Given any JSON text, When it is parsed and stringified again, Then the result is at most six times its UTF-8 size (the bound that lets a small push skip measuring each event)', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const again = JSON.stringify(JSON.parse(text))
        expect(bytes(again)).toBeLessThanOrEqual(6 * bytes(text))
      }),
      { numRuns: 3000 },
    )
    // The worst literal, as close to the bound as it gets.
    expect(bytes(JSON.stringify(JSON.parse('1e20')))).toBe(21)
  })

  it('Given a per-event limit, When a push names its source size, Then an event over the limit is refused all the same, and one within it is admitted', () => {
    const server = createSyncServer({
      store: createMemoryStore(),
      epoch: 'e',
      access: createAccessPolicy({ maxEventBytes: 600 }),
    })
    const big = { id: 'e1', type: 'T', aggregateId: 'a', data: { text: 'x'.repeat(700) } }
    const small = { id: 'e2', type: 'T', aggregateId: 'a', data: { n: 1e20 } }
    const sourceOf = (event: object): number => bytes(JSON.stringify({ events: [event] }))

    let refused: unknown
    try {
      server.checkPush([big], { sourceBytes: sourceOf(big) })
    } catch (error) {
      refused = error
    }
    expect(isSyncKitError(refused, 'payload-too-large')).toBe(true)
    // 6 × 72 bytes of source + the margin is within 600 bytes: admitted without measuring.
    const source = bytes('{"events":[{"id":"e2","type":"T","aggregateId":"a","data":{"n":1e20}}]}')
    expect(server.checkPush([small], { sourceBytes: source }).events).toHaveLength(1)
  })
})
