import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ClockMap } from './clock-map.js'
import { MAX_VECTOR_CLOCK_ENTRIES, readClock, scanClock } from './clock-map.js'

/**
 * The reader this one replaced (a pattern, then a split), kept as the oracle: the hand-written
 * scanner must accept and read exactly what it did.
 */
function reference(text: string): Map<string, number> | undefined {
  const map = new Map<string, number>()
  if (text === '') return map
  if (!/^[\w.~-]{1,64}:[1-9]\d{0,15}(,[\w.~-]{1,64}:[1-9]\d{0,15})*$/.test(text)) return undefined
  let previous = ''
  for (const entry of text.split(',')) {
    const [node, digits] = entry.split(':') as [string, string]
    const count = Number(digits)
    if (node <= previous || count > Number.MAX_SAFE_INTEGER) return undefined
    if (map.size === MAX_VECTOR_CLOCK_ENTRIES) return undefined
    map.set(node, count)
    previous = node
  }
  return map
}

const node = fc.stringMatching(/^[A-Za-z0-9._~-]{1,6}$/)
const count = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, 2 ** 48),
)
/** Mostly valid clocks, sorted and unique, as writers produce them. */
const validText = fc
  .uniqueArray(fc.tuple(node, count), { selector: ([n]) => n, maxLength: 12 })
  .map((entries) =>
    entries
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([n, c]) => `${n}:${c}`)
      .join(','),
  )
/** Valid clocks bent by one edit: a character inserted, removed or replaced. */
const bentText = fc
  .tuple(
    validText,
    fc.nat(),
    fc.constantFrom(
      ',',
      ':',
      '0',
      '9',
      'a',
      ' ',
      '\n',
      '+',
      '-',
      '.',
      'é',
      '',
      '99999999999999999',
    ),
    fc.boolean(),
  )
  .map(([text, at, piece, replace]) => {
    const i = text.length === 0 ? 0 : at % text.length
    return text.slice(0, i) + piece + text.slice(replace ? i + 1 : i)
  })
const anyText = fc.oneof(
  validText,
  bentText,
  fc.string({ unit: fc.constantFrom('a', 'b', ':', ',', '0', '1', '9', '_') }),
)

function entries(clock: ReadonlyMap<string, number> | undefined): [string, number][] | undefined {
  return clock === undefined ? undefined : [...clock]
}

describe('clock text (readClock, scanClock)', () => {
  it('Given any text, then readClock accepts exactly what the pattern-and-split reader did, with the same entries in the same order', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const clock = readClock(text)
        expect(entries(clock)).toEqual(entries(reference(text)))
        if (clock !== undefined) {
          expect(clock.size).toBe(reference(text)?.size)
          expect(scanClock(text, [])).toBe(clock.size)
        } else {
          expect(scanClock(text, [])).toBe(-1)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('Given the edges of the format, then each is read as the pattern-and-split reader did', () => {
    const cases = [
      '',
      'a:1',
      'a:0',
      'a:01',
      'a:',
      ':1',
      'a:1,',
      ',a:1',
      'a:1,a:2',
      'b:1,a:1',
      'a:1,ab:1',
      'ab:1,a:1',
      `a:${Number.MAX_SAFE_INTEGER}`,
      `a:${Number.MAX_SAFE_INTEGER + 1}`,
      'a:9999999999999999',
      'a:10000000000000000',
      `${'x'.repeat(64)}:1`,
      `${'x'.repeat(65)}:1`,
      'a:1\n',
      'a:1 ',
      'A:1,_:2,a:3,~:4',
      Array.from(
        { length: MAX_VECTOR_CLOCK_ENTRIES },
        (_, i) => `n${String(i).padStart(4, '0')}:1`,
      ).join(','),
      Array.from(
        { length: MAX_VECTOR_CLOCK_ENTRIES + 1 },
        (_, i) => `n${String(i).padStart(4, '0')}:1`,
      ).join(','),
    ]
    for (const text of cases)
      expect([text.slice(0, 20), entries(readClock(text))]).toEqual([
        text.slice(0, 20),
        entries(reference(text)),
      ])
  })

  it('Given a clock, then get and has answer from the text first and from the built map later, alike', () => {
    const clock = readClock('a:3,ab:7,b:1,ba:2') as ClockMap
    const ask = (): unknown[] =>
      ['a', 'ab', 'b', 'ba', 'c', 'a:3', 'a:3,ab', ',b', '', 'b:1'].map((n) => [
        clock.get(n),
        clock.has(n),
      ])
    const fromText = ask()
    const fromMap = ask()
    expect(fromText).toEqual(fromMap)
    expect(fromText).toEqual([
      [3, true],
      [7, true],
      [1, true],
      [2, true],
      [undefined, false],
      [undefined, false],
      [undefined, false],
      [undefined, false],
      [undefined, false],
      [undefined, false],
    ])
    expect(clock.max).toBe(7)
    expect(String(clock)).toBe('a:3,ab:7,b:1,ba:2')
    expect([...clock.keys()]).toEqual(['a', 'ab', 'b', 'ba'])
    expect([...clock.values()]).toEqual([3, 7, 1, 2])
    const seen: [string, number][] = []
    clock.forEach((c, n, map) => {
      expect(map).toBe(clock)
      seen.push([n, c])
    })
    expect(seen).toEqual([...clock.entries()])
  })
})

describe('ClockMap lookups (get and has from the text, then from the map)', () => {
  /** Ids that are substrings, prefixes and suffixes of the clock's ids, and ids no clock holds. */
  function probes(text: string): string[] {
    const ids = text === '' ? [] : text.split(',').map((entry) => entry.split(':')[0] as string)
    const near = ids.flatMap((id) => [id.slice(1), id.slice(0, -1), `${id}a`, `a${id}`, `${id}:`])
    const hostile = ['', 'a:1,b', 'x'.repeat(65), 'é', 'a\u0000', '1', ':', ',', '__proto__']
    return [...ids, ...near, ...hostile]
  }

  it('Given any clock and ids near and far from its own, then get and has answer as the parsed map, before and after iteration', () => {
    fc.assert(
      fc.property(validText, (text) => {
        const clock = readClock(text) as ClockMap
        const expected = reference(text) as Map<string, number>
        const ask = (): unknown[] => probes(text).map((id) => [clock.get(id), clock.has(id)])
        const want = probes(text).map((id) => [expected.get(id), expected.has(id)])
        expect(ask()).toEqual(want)
        expect([...clock]).toEqual([...expected])
        expect(ask()).toEqual(want)
      }),
      { numRuns: 1000 },
    )
  })

  it('Given a clock of 1024 entries with counts near 2^53, then the first, last and middle entries are found from the text', () => {
    const ids = Array.from(
      { length: MAX_VECTOR_CLOCK_ENTRIES },
      (_, i) => `n${String(i).padStart(4, '0')}`,
    )
    const text = ids.map((id, i) => `${id}:${Number.MAX_SAFE_INTEGER - i}`).join(',')
    const clock = readClock(text) as ClockMap
    expect(clock.size).toBe(MAX_VECTOR_CLOCK_ENTRIES)
    expect(clock.max).toBe(Number.MAX_SAFE_INTEGER)
    expect(clock.get('n0000')).toBe(Number.MAX_SAFE_INTEGER)
    expect(clock.get('n1023')).toBe(Number.MAX_SAFE_INTEGER - 1023)
    expect(clock.get('n0512')).toBe(Number.MAX_SAFE_INTEGER - 512)
    expect(clock.get('n1024')).toBeUndefined()
    expect(clock.get('n000')).toBeUndefined()
  })

  it('Given a clock of 1024 entries, When it is first iterated, Then its text is walked once (characters read: at most one per character and one per entry), not once per entry', () => {
    const ids = Array.from(
      { length: MAX_VECTOR_CLOCK_ENTRIES },
      (_, i) => `n${String(i).padStart(4, '0')}`,
    )
    const text = ids.map((id, i) => `${id}:${i + 1}`).join(',')
    const clock = readClock(text) as ClockMap
    // Counted where the walk reads the text: every character read is a `charCodeAt` call.
    const charCodeAt = String.prototype.charCodeAt
    let reads = 0
    String.prototype.charCodeAt = function (this: string, i: number): number {
      reads++
      return charCodeAt.call(this, i)
    }
    let first: [string, number][]
    try {
      first = [...clock]
    } finally {
      String.prototype.charCodeAt = charCodeAt
    }
    expect(reads).toBeLessThanOrEqual(text.length + clock.size)
    expect(first).toEqual(ids.map((id, i) => [id, i + 1]))
    // Later iterations and lookups use the map the first built.
    expect(clock.get('n1023')).toBe(1024)
  })
})
