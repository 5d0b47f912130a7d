import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, JsonValue } from '../types/index.js'
import { isJsonObject } from './json-order.js'

/**
 * How a projection reads a top-level field of `data`:
 * - `counter`: the event's value is a number *delta* (`{ likes: 1 }` adds one, `-1` removes one);
 *   the field's state is the sum of the deltas of the events that count. Deltas commute, so
 *   concurrent increments never conflict.
 * - `set`: the event's value is an operation `{ add?: JsonValue[], remove?: JsonValue[] }`; an
 *   element is in the set when some event added it and no event removed it *after having seen*
 *   that add (add-wins on concurrent add/remove, an observed-remove set). The materialised value
 *   is an array sorted by `compareJson`.
 *
 * Any other field is a value field: the event sets it (and `null` clears it).
 *
 * Source: M. Shapiro, N. Preguiça, C. Baquero, M. Zawirski, "A comprehensive study of Convergent
 * and Commutative Replicated Data Types", INRIA RR-7506 (2011): op-based counter, OR-Set.
 */
export type FieldKind = 'counter' | 'set'

/** A set field's operation: elements to add and to remove. */
export interface SetOperation {
  /** Elements added by the event. */
  readonly add: readonly JsonValue[]
  /** Elements removed by the event (only the adds it had seen). */
  readonly remove: readonly JsonValue[]
}

/**
 * Reads a counter field's delta.
 * @param event - the event.
 * @param field - the counter field.
 * @param component - names the caller in error messages.
 * @returns the delta, or `undefined` when the event does not touch the field.
 * @throws SyncKitError `invalid-event` when the value is not a finite number.
 */
export function readCounterDelta(
  event: Event,
  field: string,
  component: string,
): number | undefined {
  const data = event.data
  if (!isJsonObject(data) || !Object.prototype.hasOwnProperty.call(data, field)) return undefined
  const value = data[field]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [${component}] counter field "${field}" of event "${event.id}" must be a number delta (e.g. 1 or -1), got ${JSON.stringify(value)}`,
      { eventId: event.id, field: `data.${field}` },
    )
  }
  return value
}

/**
 * Reads a set field's operation.
 * @param event - the event.
 * @param field - the set field.
 * @param component - names the caller in error messages.
 * @returns the operation, or `undefined` when the event does not touch the field.
 * @throws SyncKitError `invalid-event` when the value is not `{ add?: [...], remove?: [...] }`.
 */
export function readSetOperation(
  event: Event,
  field: string,
  component: string,
): SetOperation | undefined {
  const data = event.data
  if (!isJsonObject(data) || !Object.prototype.hasOwnProperty.call(data, field)) return undefined
  const value = data[field]
  if (value === undefined) return undefined
  const bad = (): SyncKitError =>
    new SyncKitError(
      'invalid-event',
      `[sync-kit] [${component}] set field "${field}" of event "${event.id}" must be an operation { add?: [...], remove?: [...] }, got ${String(JSON.stringify(value)).slice(0, 80)}`,
      { eventId: event.id, field: `data.${field}` },
    )
  if (!isJsonObject(value)) throw bad()
  for (const key of Object.keys(value)) if (key !== 'add' && key !== 'remove') throw bad()
  const add = value['add'] ?? []
  const remove = value['remove'] ?? []
  if (!Array.isArray(add) || !Array.isArray(remove)) throw bad()
  return { add: add as readonly JsonValue[], remove: remove as readonly JsonValue[] }
}
