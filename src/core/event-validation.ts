import { Stamp } from './stamp.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventMetadata, JsonValue } from '../types/index.js'
import {
  EVENT_JSON_MAX_DEPTH,
  describe,
  isEmptyObject,
  isPlain,
  jsonEqual,
  truncate,
} from './json-value.js'

export { EVENT_JSON_MAX_DEPTH, canonicalJson, deepFreeze, jsonEqual } from './json-value.js'

/** Longest `id`, `type` and `aggregateId` accepted, in UTF-16 code units: 512. */
export const EVENT_FIELD_MAX_LENGTH = 512

/** The metadata keys sync-kit reads; each must be a string when present. */
const RESERVED_METADATA_KEYS = ['tenant', 'hlc', 'origin', 'causal'] as const

/** Options for {@link validateEvent}. */
export interface ValidateEventOptions {
  /**
   * Deep-freezes the returned copy in the same pass (cheaper than a separate {@link deepFreeze}).
   * An event that `validateEvent` itself returned frozen is then returned as it is, not copied
   * again: it cannot have changed, so an event is copied once however many stores and hubs it
   * crosses.
   * @defaultValue false
   */
  readonly freeze?: boolean
}

/**
 * Checks that a value is a valid {@link Event} and returns a normalised deep copy of it, so later
 * changes by the caller cannot reach whoever keeps the copy.
 *
 * Rules:
 * - `event` is a plain object; `id`, `type` and `aggregateId` are non-empty strings of at most
 *   {@link EVENT_FIELD_MAX_LENGTH} code units.
 * - `data` is present and JSON: strings, finite numbers, booleans, `null`, arrays and plain
 *   objects (prototype `Object.prototype` or `null`), nested at most {@link EVENT_JSON_MAX_DEPTH}
 *   levels. Rejected: `undefined` as `data` or as an array element, functions, symbols, bigints,
 *   `NaN`/`Infinity`, cycles, `Date`, `Map`, class instances and other non-plain objects.
 * - `metadata` is absent or a plain object of JSON values; its reserved keys `tenant`, `hlc`,
 *   `origin` and `causal` are strings when present.
 * - Every string (keys included) is well-formed UTF-16: a lone surrogate cannot be encoded as
 *   UTF-8, so SQLite, HTTP and most other stores would silently replace it with U+FFFD. Rejecting
 *   it keeps every store and transport lossless and in agreement.
 *
 * Normalisation (as `JSON.stringify` would do): object properties whose value is `undefined` are
 * dropped, `-0` becomes `0`, symbol-keyed and non-enumerable properties are ignored, and any
 * top-level property other than the five event fields is dropped. Shared (non-cyclic) sub-objects
 * are copied once per reference.
 *
 * Hand-written single-pass walker rather than a `JSON.stringify`/`JSON.parse` round trip: it
 * validates, copies and (optionally) freezes at once, names the offending field, and is faster for
 * the small payloads events usually carry.
 *
 * @param event - the value to check.
 * @param component - names the caller in error messages, e.g. `memory` or `sqlite`.
 * @param options - see {@link ValidateEventOptions}.
 * @returns a normalised deep copy of the event.
 * @throws SyncKitError `invalid-event`, with `details.eventId` (when the id is valid) and
 * `details.field` (a path such as `data.items[2].title`).
 * @example
 * ```ts
 * import { validateEvent } from 'sync-kit/adapter'
 *
 * const event = validateEvent({ id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }, 'memory')
 * ```
 */
export function validateEvent(
  event: unknown,
  component: string,
  options?: ValidateEventOptions,
): Event {
  const freeze = options?.freeze === true
  // A frozen copy made here cannot have changed since: one copy per event, whatever it crosses.
  if (freeze && Sealed.has(event)) return event as Event
  let id: string | undefined
  try {
    if (typeof event !== 'object' || event === null || Array.isArray(event) || !isPlain(event)) {
      throw invalid(
        component,
        id,
        undefined,
        `an event must be a plain object with id, type, aggregateId and data, got ${describe(event)}`,
      )
    }
    const e = event as Record<string, unknown>
    for (const name of FIELDS) {
      const value = e[name]
      const problem =
        typeof value !== 'string'
          ? value === undefined
            ? `no ${name}`
            : `a ${name} that is ${describe(value)}`
          : value === ''
            ? `an empty ${name}`
            : value.length > EVENT_FIELD_MAX_LENGTH
              ? `a ${name} of ${value.length} characters`
              : isWellFormed(value)
                ? undefined
                : `a ${name} with a lone UTF-16 surrogate`
      if (problem !== undefined) {
        throw invalid(
          component,
          id,
          name,
          `has ${problem}; it must be a non-empty string of at most ${EVENT_FIELD_MAX_LENGTH} well-formed characters`,
          true,
        )
      }
      id ??= value as string
    }
    const { data, metadata } = e
    if (data === undefined) {
      throw invalid(component, id, 'data', 'has no data; use null for "no payload"', true)
    }
    let root = 'data'
    try {
      const copied = copyJson(data, 0, freeze)
      let meta: EventMetadata | undefined
      if (metadata !== undefined) {
        root = 'metadata'
        if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
          throw new Problem(`must be a plain object of JSON values, got ${describe(metadata)}`)
        }
        meta = copyJson(metadata, 0, freeze) as EventMetadata
        for (const key of RESERVED_METADATA_KEYS) {
          const value = meta[key]
          if (value !== undefined && typeof value !== 'string') {
            const problem = new Problem(
              `is reserved by sync-kit and must be a string, got ${describe(value)}`,
            )
            problem.path.push(key)
            throw problem
          }
        }
      }
      const copy = new EventCopy(
        id as string,
        e['type'] as string,
        e['aggregateId'] as string,
        copied,
        freeze,
      )
      if (meta !== undefined) copy.metadata = meta
      return freeze ? Object.freeze(copy) : copy
    } catch (error) {
      if (!(error instanceof Problem)) throw error
      const { path, objects } = error
      let message = error.message
      // Deep nesting found by climbing out of it: a cycle when one object is its own ancestor.
      const back = objects?.findIndex((object, depth) => objects.indexOf(object) < depth) ?? -1
      if (back >= 0) {
        path.length = back
        message = 'refers back to itself (a cycle), which is not JSON'
      }
      throw invalid(component, id, formatPath([root, ...path]), message)
    }
  } catch (error) {
    if (error instanceof SyncKitError) throw error
    // A getter or a proxy trap threw: the value is not plain data. Say so, keep the cause.
    const why = error instanceof Error ? error.message : String(error)
    throw invalid(
      component,
      id,
      undefined,
      `could not be read (${truncate(why)}); pass plain data: getters and proxies that throw are not JSON`,
      false,
      { cause: error },
    )
  }
}

/**
 * Tells whether two events have the same content: equal `id`, `type`, `aggregateId`, `data` and
 * `metadata`. Object key order does not matter, `0` equals `-0`, properties whose value is
 * `undefined` count as absent, and absent metadata equals empty metadata (`{}`), since stores may
 * persist either.
 *
 * This is the comparison behind idempotent stores: the same id with equal content is a duplicate,
 * with different content an `event-id-conflict`.
 *
 * @param a - one event (validated).
 * @param b - the other event (validated).
 * @returns true when the contents are equal.
 * @example
 * ```ts
 * import { eventsEqual } from 'sync-kit/adapter'
 *
 * eventsEqual(stored, incoming) // true → duplicate, false → conflict
 * ```
 */
export function eventsEqual(a: Event, b: Event): boolean {
  if (a === b) return true
  if (a.id !== b.id || a.type !== b.type || a.aggregateId !== b.aggregateId) return false
  if (!jsonEqual(a.data, b.data)) return false
  const ma = a.metadata
  const mb = b.metadata
  if (ma === undefined) return mb === undefined || isEmptyObject(mb)
  if (mb === undefined) return isEmptyObject(ma)
  return jsonEqual(ma, mb)
}

/**
 * Tells whether a value is a deep-frozen copy that {@link validateEvent} made (with `freeze`):
 * valid, normalised and unchangeable, so a store or transport that only reads it can take it as
 * it is instead of validating and copying it again.
 * @param value - any value.
 * @returns true for such a copy (false for every other value, however valid).
 * @example
 * ```ts
 * import { isSealedEvent, validateEvent } from '../core/event-validation.js'
 *
 * const checked = isSealedEvent(event) ? event : validateEvent(event, 'sqlite')
 * ```
 */
export function isSealedEvent(value: unknown): value is Event {
  return Sealed.has(value)
}

/** The fields of an event copy, as {@link EventCopy} makes it. */
interface EventCopy {
  id: string
  type: string
  aggregateId: string
  data: JsonValue
  metadata?: EventMetadata
}

/**
 * Makes an event copy, marked (see {@link Sealed}) as frozen or not: a plain object (its
 * prototype is `Object.prototype`), made by a constructor function rather than a literal. V8 sizes
 * a literal for its own properties only, so the mark then cost an out-of-object property array
 * (40 B per stored event); a constructor's objects get room for what every copy holds. Every copy
 * is marked, frozen or not, so all take the same shape whichever kind a process makes first.
 */
const EventCopy = function (
  this: EventCopy,
  id: string,
  type: string,
  aggregateId: string,
  data: JsonValue,
  frozen: boolean,
) {
  this.id = id
  this.type = type
  this.aggregateId = aggregateId
  this.data = data
  new Sealed(this, frozen)
} as unknown as new (
  id: string,
  type: string,
  aggregateId: string,
  data: JsonValue,
  frozen: boolean,
) => EventCopy
EventCopy.prototype = Object.prototype

/**
 * The mark of the copies {@link validateEvent} made, saying whether it froze them (then they are
 * valid and unchangeable). Nothing outside this class can read, copy or forge it (a private field:
 * invisible to `Object.keys`, spreads, JSON and proxies), and it costs a property slot, where a
 * `WeakSet` of copies cost an entry per event and slower collections (a quarter of a memory-store
 * append).
 */
class Sealed extends Stamp {
  readonly #frozen: boolean

  /**
   * Marks a copy.
   * @param copy - a copy being made.
   * @param frozen - whether it will be deep-frozen.
   */
  constructor(copy: object, frozen: boolean) {
    super(copy)
    this.#frozen = frozen
  }

  /**
   * Tells whether a value is a copy {@link validateEvent} made and froze.
   * @param value - any value.
   * @returns true for such a copy.
   */
  static has(value: unknown): boolean {
    return (
      typeof value === 'object' && value !== null && #frozen in value && (value as Sealed).#frozen
    )
  }
}

/** The event fields that must be non-empty strings. */
const FIELDS = ['id', 'type', 'aggregateId'] as const

/**
 * A value that is not allowed in `data` or `metadata`: thrown where it is found, given its path
 * (keys from the top value down) on the way out. Climbing out of deep nesting it also collects the
 * objects on the way, so that a cycle is told from deep nesting without tracking anything on the
 * (common) way in.
 */
class Problem {
  readonly message: string
  readonly path: (string | number)[] = []
  readonly objects: object[] | undefined

  constructor(message: string, objects?: object[]) {
    this.message = message
    this.objects = objects
  }
}

/**
 * A lone surrogate, where `isWellFormed` is missing: in a `u` regex a pair is one astral code
 * point, so only an unpaired half is in the surrogate category `Cs` (and `\p{…}` reaches older
 * engines than the lookbehind this once used).
 */
const LONE_SURROGATE = /\p{Cs}/u

function isWellFormed(s: string): boolean {
  const string = s as unknown as { isWellFormed?: () => boolean }
  return string.isWellFormed ? string.isWellFormed() : !LONE_SURROGATE.test(s)
}

/** `is <what>, which is not JSON; <advice>`. */
function notJson(
  what: string,
  advice = 'use plain objects, arrays, strings, finite numbers, booleans or null',
): Problem {
  return new Problem(`is ${what}, which is not JSON; ${advice}`)
}

const SURROGATE = 'a lone UTF-16 surrogate, which cannot be kept losslessly (use toWellFormed())'

/**
 * Validates and copies (and freezes) a JSON value in one recursive pass, tracking nothing on the
 * way in: cycles need no check of their own, they hit the depth limit.
 * @throws Problem for the first value that is not allowed.
 */
function copyJson(value: unknown, depth: number, freeze: boolean): JsonValue {
  switch (typeof value) {
    case 'string':
      if (isWellFormed(value)) return value
      throw new Problem(`contains ${SURROGATE}`)
    case 'number':
      if (Number.isFinite(value)) return value === 0 ? 0 : value
      throw notJson(String(value), 'use a finite number or null')
    case 'boolean':
      return value
    case 'undefined':
      throw notJson('undefined', 'use null or leave it out')
    case 'bigint':
      throw notJson('a bigint', 'store it as a string')
    case 'object':
      if (value === null) return null
      break
    default:
      throw notJson(`a ${typeof value}`)
  }
  if (depth >= EVENT_JSON_MAX_DEPTH) {
    throw new Problem(`is nested deeper than ${EVENT_JSON_MAX_DEPTH} levels; flatten it`, [value])
  }
  const isArray = Array.isArray(value)
  if (!isArray && !isPlain(value)) {
    throw value instanceof Date
      ? notJson('a Date', 'store date.toISOString() or a number of ms')
      : notJson(describe(value))
  }
  let key: string | number = 0
  let out: JsonValue[] | Record<string, JsonValue>
  try {
    if (isArray) {
      // By index, as JSON.stringify reads arrays: an array's own iterator is not its content.
      // Sized up front: an array grown by push from [] reserves 16 slots or more, which for the
      // small arrays events hold doubles their footprint in a store.
      const length = value.length
      const items: JsonValue[] = (out = new Array<JsonValue>(length))
      for (; key < length; key++) items[key] = copyJson(value[key], depth + 1, freeze)
    } else {
      const source = value as Readonly<Record<string, unknown>>
      out = {}
      for (key of Object.keys(source)) {
        const item = source[key]
        if (item === undefined) continue
        if (!isWellFormed(key)) throw new Problem(`is a key with ${SURROGATE}`)
        const copy = copyJson(item, depth + 1, freeze)
        // A plain assignment to "__proto__" would set the prototype instead of the property.
        if (key === '__proto__') {
          Object.defineProperty(out, key, {
            value: copy,
            enumerable: true,
            writable: true,
            configurable: true,
          })
        } else out[key] = copy
      }
    }
  } catch (error) {
    if (error instanceof Problem) {
      error.path.unshift(key)
      error.objects?.unshift(value)
    }
    throw error
  }
  return freeze ? Object.freeze(out) : out
}

function invalid(
  component: string,
  eventId: string | undefined,
  field: string | undefined,
  problem: string,
  problemNamesField = false,
  options?: { readonly cause: unknown },
): SyncKitError<'invalid-event'> {
  const who = eventId === undefined ? 'event' : `event "${truncate(eventId)}"`
  const what = field === undefined || problemNamesField ? problem : `${field} ${problem}`
  const details: { eventId?: string; field?: string } = {}
  if (eventId !== undefined) details.eventId = eventId
  if (field !== undefined) details.field = field
  return new SyncKitError(
    'invalid-event',
    `[sync-kit] [${component}] ${who} ${what}`,
    details,
    options,
  )
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function formatPath(keys: readonly (string | number)[]): string {
  let path = ''
  for (const key of keys) {
    if (typeof key === 'number') path += `[${key}]`
    else if (path === '') path = key
    else path += IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
  }
  return path
}
