/**
 * The vocabulary of field rules: how one top-level field of `data` is merged (by `fieldMerge` and
 * `additiveMerge`) and read (by `materializeAggregate`, which must read `counter` and `set` fields
 * the same way). Types only; it lives below the resolvers so that projections need not import them.
 *
 * @module
 */
import type { Event, JsonValue } from '../types/index.js'
import type { FieldKind } from './field-operations.js'

/**
 * A built-in rule for a contested value field (both events set it, to different values):
 * - `last-write-wins`: the later event's value (by `compareEvents`: HLC, then id).
 * - `first-write-wins`: the earlier event's value.
 * - `max` / `min`: the greater / smaller value in `compareJson` order (numbers by value, strings
 *   by code point; kinds ranked `null` < booleans < numbers < strings < arrays < objects).
 * - `union`: for two arrays, the earlier's elements then the later's new ones, without duplicates
 *   (JSON equality); for anything else, the later value.
 */
export type BuiltInFieldRule = 'last-write-wins' | 'first-write-wins' | 'max' | 'min' | 'union'

/** What a custom field rule is given: the field and both values, in `compareEvents` order. */
export interface FieldRuleInput {
  /** The field, or `undefined` when the payloads are not objects and are merged as a whole. */
  readonly field: string | undefined
  /** The aggregate. */
  readonly aggregateId: string
  /** The earlier event and its value of the field. */
  readonly earlier: {
    /** The event. */
    readonly event: Event
    /** Its value of the field. */
    readonly value: JsonValue
  }
  /** The later event and its value of the field. */
  readonly later: {
    /** The event. */
    readonly event: Event
    /** Its value of the field. */
    readonly value: JsonValue
  }
}

/**
 * A custom rule for a contested field. It must be a pure function of its input (no clock, no
 * randomness, no replica id), or replicas would resolve the same conflict differently.
 * @param input - the field and both values, ordered.
 * @returns the resolved value (JSON; `null` clears the field).
 */
export type FieldRuleFunction = (input: FieldRuleInput) => JsonValue

/**
 * How one top-level field of `data` is merged: a {@link BuiltInFieldRule}, a
 * {@link FieldRuleFunction}, or an operation kind (`counter`, `set`; see `FieldKind`) whose
 * concurrent operations all apply and never need resolving.
 */
export type FieldRule = BuiltInFieldRule | FieldKind | FieldRuleFunction
