import type { JsonValue } from '../types/index.js'
import { canonicalJson } from '../core/event-validation.js'

/**
 * Orders two strings by Unicode code point, which is the same as comparing their UTF-8 bytes. The
 * built-in `<` compares UTF-16 code units, which puts U+E000–U+FFFF after the astral planes and so
 * disagrees with byte order in other languages; replicas written in Go or Rust must agree with us.
 *
 * @param a - one string.
 * @param b - the other string.
 * @returns `-1` when `a` sorts first, `0` when equal, `1` when `b` sorts first.
 * @example
 * ```ts
 * import { compareCodePoints } from './json-order.js'
 *
 * compareCodePoints('\uFF21', '\u{1F600}') // -1 (U+FF21 < U+1F600), although '\uFF21' > '\u{1F600}'
 * ```
 */
export function compareCodePoints(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      const fx = codePointRank(x)
      const fy = codePointRank(y)
      return fx < fy ? -1 : 1
    }
  }
  return a.length < b.length ? -1 : 1
}

/**
 * Surrogates (U+D800–U+DFFF) stand for code points ≥ U+10000, so they must rank above
 * U+E000–U+FFFF: shift them up by 0x2000 and the upper BMP down by 0x800.
 */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000
  if (unit >= 0xe000) return unit - 0x800
  return unit
}

const RANK = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5 } as const

function rankOf(value: JsonValue): number {
  if (value === null) return RANK.null
  if (Array.isArray(value)) return RANK.array
  switch (typeof value) {
    case 'boolean':
      return RANK.boolean
    case 'number':
      return RANK.number
    case 'string':
      return RANK.string
    default:
      return RANK.object
  }
}

/**
 * A total order on JSON values, the same on every replica: first by kind (`null` < booleans <
 * numbers < strings < arrays < objects), then numbers by value, strings by code point, arrays
 * element by element (a prefix first), objects by their canonical JSON text (RFC 8785 key order).
 *
 * Used by the `max`/`min` field rules and to sort materialised sets.
 *
 * @param a - one JSON value.
 * @param b - the other JSON value.
 * @returns `-1`, `0` or `1`.
 * @throws SyncKitError `invalid-argument` when an object holds something that is not JSON.
 * @example
 * ```ts
 * import { compareJson } from './json-order.js'
 *
 * compareJson(2, 10) // -1
 * compareJson('b', 10) // 1 (strings rank after numbers)
 * ```
 */
export function compareJson(a: JsonValue, b: JsonValue): -1 | 0 | 1 {
  const ra = rankOf(a)
  const rb = rankOf(b)
  if (ra !== rb) return ra < rb ? -1 : 1
  switch (ra) {
    case RANK.null:
      return 0
    case RANK.boolean:
    case RANK.number:
      // Booleans: false < true. Numbers: by value (0 and -0 are equal).
      return a === b ? 0 : (a as number | boolean) < (b as number | boolean) ? -1 : 1
    case RANK.string:
      return compareCodePoints(a as string, b as string)
    case RANK.array: {
      const x = a as readonly JsonValue[]
      const y = b as readonly JsonValue[]
      const n = Math.min(x.length, y.length)
      for (let i = 0; i < n; i++) {
        const c = compareJson(x[i] as JsonValue, y[i] as JsonValue)
        if (c !== 0) return c
      }
      return x.length === y.length ? 0 : x.length < y.length ? -1 : 1
    }
    default:
      return compareCodePoints(canonicalJson(a), canonicalJson(b))
  }
}

/**
 * Tells whether a value is a plain JSON object (not an array, not `null`).
 * @param value - any value.
 * @returns true for `{ … }` objects.
 */
export function isJsonObject(value: unknown): value is Readonly<Record<string, JsonValue>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
