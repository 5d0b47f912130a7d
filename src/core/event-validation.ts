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
  try {
    return readEvent(event, component, options)
  } catch (error) {
    if (error instanceof SyncKitError) throw error
    // A getter or a proxy trap threw: the value is not plain data. Say so, keep the cause.
    throw unreadable(event, component, error)
  }
}

function readEvent(event: unknown, component: string, options?: ValidateEventOptions): Event {
  if (typeof event !== 'object' || event === null || Array.isArray(event) || !isPlain(event)) {
    throw invalid(
      component,
      undefined,
      undefined,
      `an event must be a plain object with id, type, aggregateId and data, got ${describe(event)}`,
    )
  }
  const e = event as Record<string, unknown>
  const id = e['id']
  checkField(component, undefined, 'id', id)
  const eventId = id as string
  const type = e['type']
  checkField(component, eventId, 'type', type)
  const aggregateId = e['aggregateId']
  checkField(component, eventId, 'aggregateId', aggregateId)

  const freeze = options?.freeze === true
  const data = e['data']
  if (data === undefined) {
    throw invalid(
      component,
      eventId,
      'data',
      'has no data; data must be a JSON value (use null for "no payload")',
    )
  }
  const metadata = e['metadata']
  let content: Content
  try {
    content = copyContent(data, metadata, freeze)
  } catch (error) {
    if (!(error instanceof JsonProblem)) throw error
    // Slow path, only on failure: walk again tracking the path, to name the offending field.
    const found = locateProblem(data, metadata)
    throw invalid(component, eventId, found?.field ?? 'data', found?.message ?? error.message)
  }
  const copy: Event =
    content[1] === undefined
      ? { id: eventId, type: type as string, aggregateId: aggregateId as string, data: content[0] }
      : {
          id: eventId,
          type: type as string,
          aggregateId: aggregateId as string,
          data: content[0],
          metadata: content[1],
        }
  return freeze ? Object.freeze(copy) : copy
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

/** Thrown by the fast path; {@link locateProblem} then finds where. */
class JsonProblem extends Error {
  readonly key: string | undefined
  constructor(message: string, key?: string) {
    super(message)
    this.key = key
  }
}

const hasIsWellFormed =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function isWellFormed(s: string): boolean {
  return hasIsWellFormed
    ? (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : !LONE_SURROGATE.test(s)
}

/** The copied `data` and `metadata` of an event. */
type Content = readonly [JsonValue, EventMetadata | undefined]

/**
 * Where the slow path is: the keys from the event down to the value being checked, and the
 * objects on the way (to tell a cycle from deep nesting).
 */
interface Path {
  readonly keys: (string | number)[]
  readonly ancestors: object[]
}

/**
 * Validates and copies (and freezes) `data` and `metadata`, reserved metadata keys included.
 * @param path - absent on the fast path; given by {@link locateProblem} to track where it is.
 * @throws JsonProblem for the first value that is not allowed.
 */
function copyContent(data: unknown, metadata: unknown, freeze: boolean, path?: Path): Content {
  const dataCopy = copyJson(data, 0, freeze, path)
  if (metadata === undefined) return [dataCopy, undefined]
  if (path !== undefined) path.keys[0] = 'metadata'
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new JsonProblem(`must be a plain object of JSON values, got ${describe(metadata)}`)
  }
  const metadataCopy = copyJson(metadata, 0, freeze, path) as EventMetadata
  checkReservedMetadata(metadataCopy)
  return [dataCopy, metadataCopy]
}

/**
 * Validates and copies (and freezes) a JSON value in one recursive pass. The fast path (no
 * `path`) tracks nothing: cycles need no check of their own, they hit the depth limit. With a
 * `path` it keeps the keys and ancestors, so a failure names its field and a cycle is reported as
 * such rather than as deep nesting.
 */
function copyJson(value: unknown, depth: number, freeze: boolean, path?: Path): JsonValue {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new JsonProblem(LONE_SURROGATE_PROBLEM)
      return value
    case 'number':
      if (!Number.isFinite(value)) throw new JsonProblem(nonFiniteProblem(value))
      return value === 0 ? 0 : value
    case 'boolean':
      return value
    case 'object':
      break
    default:
      throw new JsonProblem(primitiveProblem(value))
  }
  if (value === null) return null
  if (path !== undefined) {
    const { ancestors } = path
    for (let i = 0; i < depth; i++) if (ancestors[i] === value) throw new JsonProblem(CYCLE_PROBLEM)
    ancestors[depth] = value
  }
  if (depth >= EVENT_JSON_MAX_DEPTH) throw new JsonProblem(DEPTH_PROBLEM)
  const next = depth + 1
  const keys = path?.keys
  if (Array.isArray(value)) {
    const source = value as readonly unknown[]
    const out: JsonValue[] = []
    // By index, as JSON.stringify reads arrays: an array's own iterator is not its content (a
    // for-of would call it).
    for (let i = 0; i < source.length; i++) {
      keys?.push(i)
      out.push(copyJson(source[i], next, freeze, path))
      keys?.pop()
    }
    return freeze ? Object.freeze(out) : out
  }
  if (!isPlain(value)) throw new JsonProblem(objectProblem(value))
  const source = value as Readonly<Record<string, unknown>>
  const out: Record<string, JsonValue> = {}
  for (const key of Object.keys(source)) {
    const item = source[key]
    if (item === undefined) continue
    keys?.push(key)
    if (!isWellFormed(key)) throw new JsonProblem(LONE_SURROGATE_KEY_PROBLEM)
    const itemCopy = copyJson(item, next, freeze, path)
    keys?.pop()
    if (key === '__proto__') {
      // A plain assignment would set the prototype instead of creating the property.
      Object.defineProperty(out, key, {
        value: itemCopy,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    } else {
      out[key] = itemCopy
    }
  }
  return freeze ? Object.freeze(out) : out
}

/**
 * The slow path of {@link validateEvent}, run only after the fast path failed: the same walk over
 * `data`, then `metadata`, tracking the path, to find the first problem and where it is.
 */
function locateProblem(
  data: unknown,
  metadata: unknown,
): { readonly field: string; readonly message: string } | undefined {
  const keys: (string | number)[] = ['data']
  try {
    copyContent(data, metadata, false, { keys, ancestors: [] })
    return undefined
  } catch (error) {
    if (!(error instanceof JsonProblem)) throw error
    if (error.key !== undefined) keys.push(error.key)
    return { field: formatPath(keys), message: error.message }
  }
}

function checkReservedMetadata(metadata: EventMetadata): void {
  for (const key of RESERVED_METADATA_KEYS) {
    const value = metadata[key]
    if (value !== undefined && typeof value !== 'string') {
      throw new JsonProblem(
        `is reserved by sync-kit and must be a string, got ${describe(value)}`,
        key,
      )
    }
  }
}

const LONE_SURROGATE_PROBLEM =
  'contains a lone UTF-16 surrogate, which cannot be stored or sent losslessly; fix the string (e.g. with String.prototype.toWellFormed)'
const LONE_SURROGATE_KEY_PROBLEM =
  'is a key with a lone UTF-16 surrogate, which cannot be stored or sent losslessly'
const DEPTH_PROBLEM = `is nested deeper than ${EVENT_JSON_MAX_DEPTH} levels; flatten it`
const CYCLE_PROBLEM = 'refers back to itself (a cycle), which is not JSON'

function nonFiniteProblem(value: number): string {
  return `is ${String(value)}, which is not JSON; use a finite number or null`
}

function primitiveProblem(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'is undefined, which is not JSON; use null or leave the element out'
    case 'bigint':
      return 'is a bigint, which is not JSON; store it as a string'
    default:
      return `is a ${typeof value}, which is not JSON`
  }
}

function objectProblem(value: object): string {
  return value instanceof Date
    ? 'is a Date, which is not JSON; store date.toISOString() or a number of ms'
    : `is ${describe(value)}, which is not JSON; use plain objects and arrays`
}

function checkField(
  component: string,
  eventId: string | undefined,
  field: 'id' | 'type' | 'aggregateId',
  value: unknown,
): void {
  let problem: string | undefined
  if (typeof value !== 'string') {
    problem =
      value === undefined
        ? `has no ${field}; set a non-empty string`
        : `has a ${field} that is ${describe(value)}; it must be a non-empty string`
  } else if (value.length === 0) {
    problem = `has an empty ${field}; set a non-empty string`
  } else if (value.length > EVENT_FIELD_MAX_LENGTH) {
    problem = `has a ${field} of ${value.length} characters; at most ${EVENT_FIELD_MAX_LENGTH} are allowed`
  } else if (!isWellFormed(value)) {
    problem = `has a ${field} with a lone UTF-16 surrogate, which cannot be stored losslessly`
  }
  if (problem !== undefined) throw invalid(component, eventId, field, problem, true)
}

function unreadable(
  event: unknown,
  component: string,
  cause: unknown,
): SyncKitError<'invalid-event'> {
  let eventId: string | undefined
  try {
    const id = (event as { id?: unknown } | null)?.id
    if (typeof id === 'string' && id !== '' && id.length <= EVENT_FIELD_MAX_LENGTH) eventId = id
  } catch {
    // The id itself cannot be read; the message names no event.
  }
  const why = cause instanceof Error ? cause.message : String(cause)
  return invalid(
    component,
    eventId,
    undefined,
    `could not be read (${truncate(why)}); pass plain data: getters and proxies that throw are not JSON`,
    false,
    { cause },
  )
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
