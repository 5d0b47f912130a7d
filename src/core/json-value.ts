import { SyncKitError } from '../errors/sync-kit-error.js'

// JSON values as sync-kit handles them: canonical JSON, deep equality, deep freezing, and the
// small predicates the event validation shares. Event validation itself is in
// `event-validation.ts`, which re-exports what is public here.

/**
 * Deepest nesting of arrays and objects accepted in `data` and `metadata`: 256 levels. Deeper
 * values are rejected rather than risking a stack overflow in a store, a transport or a
 * `JSON.parse` on the other side.
 */
export const EVENT_JSON_MAX_DEPTH = 256

/**
 * Serialises a JSON value with object keys sorted (by UTF-16 code unit, recursively), so equal
 * values always give the same string: for hashing, comparing and storing content.
 *
 * Same output as `JSON.stringify` otherwise: no whitespace, properties whose value is `undefined`
 * omitted, `-0` written as `0`, lone surrogates escaped.
 *
 * @param value - a JSON value (plain objects, arrays, strings, finite numbers, booleans, null).
 * @returns the canonical JSON text.
 * @throws SyncKitError `invalid-argument` for anything that is not JSON (functions, bigints,
 * `NaN`, class instances, `undefined` array elements, cycles, nesting more than 8 levels deeper
 * than {@link EVENT_JSON_MAX_DEPTH}).
 * @example
 * ```ts
 * import { canonicalJson } from 'sync-kit/adapter'
 *
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return writeCanonical(value, 0)
}

/**
 * Tells whether two JSON values are equal: arrays element by element, objects key by key in any
 * order (properties whose value is `undefined` count as absent), numbers by value (`0` equals
 * `-0`).
 * @param a - one JSON value.
 * @param b - the other JSON value.
 * @returns true when equal.
 * @example
 * ```ts
 * import { jsonEqual } from 'sync-kit/adapter'
 *
 * jsonEqual({ a: 1, b: [2] }, { b: [2], a: 1 }) // true
 * ```
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  const aIsArray = Array.isArray(a)
  if (aIsArray !== Array.isArray(b)) return false
  if (aIsArray) {
    const x = a as readonly unknown[]
    const y = b as readonly unknown[]
    if (x.length !== y.length) return false
    for (let i = 0; i < x.length; i++) if (!jsonEqual(x[i], y[i])) return false
    return true
  }
  const x = a as Readonly<Record<string, unknown>>
  const y = b as Readonly<Record<string, unknown>>
  let count = 0
  for (const key of Object.keys(x)) {
    const value = x[key]
    if (value === undefined) continue
    count++
    if (!Object.prototype.hasOwnProperty.call(y, key) || !jsonEqual(value, y[key])) return false
  }
  for (const key of Object.keys(y)) if (y[key] !== undefined) count--
  return count === 0
}

/**
 * Freezes a value and everything reachable from it (own properties, array elements), so nobody
 * can change it afterwards. Objects that are already frozen are taken as deeply frozen and not
 * entered again, which also makes cycles safe.
 *
 * @typeParam T - the value's type.
 * @param value - any value; primitives are returned as they are.
 * @returns the same value, frozen.
 * @example
 * ```ts
 * import { deepFreeze } from 'sync-kit/adapter'
 *
 * const event = deepFreeze({ id: 'e1', type: 'T', aggregateId: 'a', data: { n: [1] } })
 * Object.isFrozen(event.data) // true
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  Object.freeze(value)
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) deepFreeze(item)
  } else {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

/**
 * A few levels more than events may hold, so a whole event (or a wrapper around one) whose data
 * is nested to the limit can still be written.
 */
const CANONICAL_MAX_DEPTH = EVENT_JSON_MAX_DEPTH + 8

function writeCanonical(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw notJson(`${String(value)} is not a JSON number`)
      return value === 0 ? '0' : JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      break
    default:
      throw notJson(`a ${typeof value} is not a JSON value`)
  }
  if (value === null) return 'null'
  if (depth >= CANONICAL_MAX_DEPTH) {
    throw notJson(`the value is nested deeper than ${CANONICAL_MAX_DEPTH} levels or has a cycle`)
  }
  if (Array.isArray(value)) {
    let s = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ','
      s += writeCanonical((value as readonly unknown[])[i], depth + 1)
    }
    return s + ']'
  }
  if (!isPlain(value)) throw notJson(`${describe(value)} is not a JSON value`)
  const record = value as Readonly<Record<string, unknown>>
  const keys = Object.keys(record).sort()
  let s = '{'
  let first = true
  for (const key of keys) {
    const item = record[key]
    if (item === undefined) continue
    if (!first) s += ','
    first = false
    s += JSON.stringify(key) + ':' + writeCanonical(item, depth + 1)
  }
  return s + '}'
}

function notJson(message: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `[sync-kit] [canonical-json] ${message}`, {
    argument: 'value',
  })
}

/**
 * Tells whether an object is plain: its prototype is `Object.prototype` (of any realm) or null.
 * @param value - any object.
 * @returns true for plain objects.
 */
export function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return true
  // A plain object from another realm (iframe, vm context) has that realm's Object.prototype.
  return (
    typeof proto === 'object' &&
    Object.getPrototypeOf(proto) === null &&
    typeof (proto as { constructor?: unknown }).constructor === 'function' &&
    (proto as { constructor: { name?: unknown } }).constructor.name === 'Object'
  )
}

/**
 * Tells whether an object has no own enumerable property with a value other than `undefined`.
 * @param value - any object.
 * @returns true when it counts as `{}`.
 */
export function isEmptyObject(value: object): boolean {
  for (const key of Object.keys(value)) {
    if ((value as Record<string, unknown>)[key] !== undefined) return false
  }
  return true
}

/**
 * Describes a value for a message: `null`, `undefined`, `an array`, `a Date instance`, `the string
 * "…"`, `number 5`, …. The one description every core message uses.
 * @param value - any value.
 * @returns a short description.
 */
export function describe(value: unknown): string {
  if (value == null) return String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === 'string' && name !== '' && name !== 'Object'
      ? `a ${name} instance`
      : 'an object'
  }
  if (typeof value === 'string') return `the string "${truncate(value)}"`
  return `${typeof value} ${String(value)}`
}

/**
 * Shortens a string for a message to 64 code units and an ellipsis.
 * @param s - the string.
 * @returns it, or its first 64 code units and `…`.
 */
export function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s
}

/**
 * Tells whether a parsed JSON value nests deeper than `maxDepth` arrays/objects. Iterative, so a
 * hostile body of a million `[` cannot overflow the stack here (or later in recursive code).
 * @param value - a value produced by `JSON.parse`.
 * @param maxDepth - the deepest nesting allowed (the top-level value is depth 1).
 * @returns true when some value is nested deeper.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  for (;;) {
    const top = stack.pop()
    if (top === undefined) return false
    const [current, depth] = top
    if (typeof current !== 'object' || current === null) continue
    if (depth > maxDepth) return true
    const children = Array.isArray(current) ? current : Object.values(current)
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
}
