import { canonicalJson, eventsEqual } from '../core/event-validation.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventWithVersion, JsonValue } from '../types/index.js'
import { compareEvents, hlcOf } from './event-order.js'
import { withFoldCache } from '../causality/causal-context.js'
import { eventRelation } from '../causality/event-relation.js'
import { readCounterDelta, readSetOperation } from './field-operations.js'
import type { FieldRule } from './field-rule.js'
import { compareCodePoints, compareJson, isJsonObject } from './json-order.js'
import { checkDeleteRule, isTombstone } from './tombstone.js'
import type { DeleteRule } from './tombstone.js'

/** Options for {@link materializeAggregate} and `createProjection`. */
export interface MaterializeOptions {
  /**
   * What a delete concurrent with an edit does; see `DeleteRule`.
   * @defaultValue `'delete-wins'`
   */
  readonly deleteRule?: DeleteRule
  /**
   * How named top-level fields are read: `counter` and `set` fields hold operations (see
   * `FieldKind`); every other field, and every rule of `fieldMerge`, is a value field. Pass the
   * same object you give `fieldMerge` / the same names you give `additiveMerge`.
   * @defaultValue `{}` (all value fields)
   */
  readonly fields?: Readonly<Record<string, FieldRule>>
}

/** Whether an aggregate exists. */
export type AggregateStatus = 'absent' | 'live' | 'deleted'

/** An aggregate's state, computed from its events. */
export interface MaterializedAggregate {
  /** The aggregate, `undefined` when there were no events. */
  readonly aggregateId: string | undefined
  /** `absent`: no events; `live`: some edit counts; `deleted`: a delete removed every edit. */
  readonly status: AggregateStatus
  /** The fields; `{}` unless `live`. */
  readonly data: Readonly<Record<string, JsonValue>>
  /** The edits that make up `data`, in `compareEvents` order (HLC, then id). */
  readonly appliedEventIds: readonly string[]
  /** The edits a delete removed (seen by it, or concurrent and stamped before it or delete-wins). */
  readonly discardedEventIds: readonly string[]
  /** When `deleted`: the delete (the last one in event order). */
  readonly deletedBy?: string
  /** The HLC stamp of the last applied edit in that order (or of `deletedBy`), when it has one. */
  readonly hlc?: string
}

/**
 * Computes an aggregate's state from its events — the same state on every replica, for any order
 * in which the events arrived, and whatever duplicates were delivered.
 *
 * Rules (docs/causality.md, rule 1: causality first, clocks second):
 * 1. Events are deduplicated by id. An edit's `data` (a plain object, or `null` for "no change")
 *    is a patch of top-level fields: a value sets the field, `null` clears it; `counter` fields add
 *    their delta, `set` fields apply their add/remove operation (add-wins for concurrent add and
 *    remove).
 * 2. A value field takes the value of its causally latest write: of the writes no other write of
 *    the field happened after (per `eventRelation`), the latest in `compareEvents` order (HLC, then
 *    id). A write made after seeing another replaces it whatever the stamps say — an event stamped
 *    ten years ahead loses to an edit made after it — and concurrent writes (or writes without
 *    causal context) are decided by HLC, exactly as the resolvers decide them.
 * 3. A tombstone (`TOMBSTONE_EVENT_TYPE`) removes every edit it had seen (per vector clock), and
 *    of the edits concurrent with it (or without causal context) those stamped before it and —
 *    under `delete-wins`, the default — all of them. Under `edit-wins` a concurrent edit stamped
 *    after it survives. An edit that causally follows a delete re-creates the aggregate from empty,
 *    whatever its stamp. So a late-arriving or older write never resurrects a deleted aggregate.
 *
 * Merge events of the built-in resolvers are edits like any other: their causal context is the
 * join of their inputs', so they happened after them, and they are stamped after them.
 *
 * @param events - one aggregate's events (or `EventWithVersion`s, as a store returns them), in any
 * order.
 * @param options - the delete rule and the field kinds.
 * @returns the state.
 * @throws SyncKitError `invalid-argument` for events of several aggregates or bad options,
 * `invalid-event` for an event without id/type/aggregateId, an edit whose `data` is not an object
 * or `null`, or a malformed counter/set value; `event-id-conflict` for two different events with
 * one id.
 * @example
 * ```ts
 * import { materializeAggregate } from 'sync-kit'
 *
 * const events = await store.loadByAggregate('todo-1', null)
 * const todo = materializeAggregate(events, { deleteRule: 'delete-wins' })
 * if (todo.status === 'live') render(todo.data)
 * ```
 */
export function materializeAggregate(
  events: Iterable<Event | EventWithVersion>,
  options: MaterializeOptions = {},
): MaterializedAggregate {
  const config = checkOptions(options, 'materialize')
  const unique = new Map<string, Event>()
  let aggregateId: string | undefined
  for (const item of events) {
    const event = checkEvent(unwrap(item), 'materialize')
    if (aggregateId === undefined) aggregateId = event.aggregateId
    else if (event.aggregateId !== aggregateId) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [materialize] events of several aggregates ("${aggregateId}", "${event.aggregateId}"); pass one aggregate's events, or use createProjection for many`,
        { argument: 'events' },
      )
    }
    addUnique(unique, event, 'materialize')
  }
  // The events are usually a store's own: their parsed stamps are not kept beside them.
  return withFoldCache(() => fold(aggregateId, [...unique.values()], config))
}

/** Checked options. */
export interface MaterializeConfig {
  readonly deleteRule: DeleteRule
  readonly counters: ReadonlySet<string>
  readonly sets: ReadonlySet<string>
}

/**
 * Checks {@link MaterializeOptions}.
 * @param options - as given.
 * @param component - names the caller in errors.
 * @returns the checked configuration.
 * @throws SyncKitError `invalid-argument`.
 */
export function checkOptions(options: MaterializeOptions, component: string): MaterializeConfig {
  const deleteRule = checkDeleteRule(options?.deleteRule, component)
  const fields = options?.fields ?? {}
  if (!isJsonObject(fields as unknown)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] fields must be an object of field rules, e.g. { likes: 'counter' }`,
      { argument: 'fields' },
    )
  }
  const counters = new Set<string>()
  const sets = new Set<string>()
  for (const [field, rule] of Object.entries(fields)) {
    if (rule === 'counter') counters.add(field)
    else if (rule === 'set') sets.add(field)
  }
  return { deleteRule, counters, sets }
}

/**
 * Unwraps an `EventWithVersion`.
 * @param item - an event or an event with its version.
 * @returns the event.
 */
export function unwrap(item: Event | EventWithVersion): Event {
  const maybe = item as Partial<EventWithVersion> | null
  if (typeof maybe === 'object' && maybe !== null && 'event' in maybe && 'version' in maybe) {
    return maybe.event as Event
  }
  return item as Event
}

/**
 * Checks what a projection needs of an event.
 * @param event - the event.
 * @param component - names the caller in errors.
 * @returns the event.
 * @throws SyncKitError `invalid-event`.
 */
export function checkEvent(event: Event, component: string): Event {
  const e = event as Partial<Event> | null
  if (typeof e !== 'object' || e === null) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [${component}] expected an event object, got ${e === null ? 'null' : typeof e}`,
      {},
    )
  }
  for (const field of ['id', 'type', 'aggregateId'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') {
      throw new SyncKitError(
        'invalid-event',
        `[sync-kit] [${component}] event ${typeof e.id === 'string' ? `"${e.id}" ` : ''}has no ${field}; every event needs a non-empty ${field}`,
        { ...(typeof e.id === 'string' && e.id !== '' ? { eventId: e.id } : {}), field },
      )
    }
  }
  if (!isTombstone(event) && event.data !== null && !isJsonObject(event.data)) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [${component}] event "${event.id}" has data of type ${Array.isArray(event.data) ? 'array' : typeof event.data}; projections apply data as a patch of fields, so use an object (or null for no change)`,
      { eventId: event.id, field: 'data' },
    )
  }
  return event
}

/**
 * Adds an event to an id-keyed set: a duplicate is ignored, a different event under a known id
 * is rejected.
 * @param unique - the set.
 * @param event - the event.
 * @param component - names the caller in errors.
 * @returns true when the event is new.
 * @throws SyncKitError `event-id-conflict`.
 */
export function addUnique(unique: Map<string, Event>, event: Event, component: string): boolean {
  const known = unique.get(event.id)
  if (known === undefined) {
    unique.set(event.id, event)
    return true
  }
  if (eventsEqual(known, event)) return false
  throw new SyncKitError(
    'event-id-conflict',
    `[sync-kit] [${component}] two different events share the id "${event.id}"; event ids must be unique`,
    { eventId: event.id },
  )
}

/**
 * The state of one aggregate from its deduplicated events.
 * @param aggregateId - the aggregate.
 * @param events - its events, deduplicated, in any order.
 * @param config - checked options.
 * @returns the state.
 */
export function fold(
  aggregateId: string | undefined,
  events: readonly Event[],
  config: MaterializeConfig,
): MaterializedAggregate {
  const sorted = [...events].sort(compareEvents)
  const tombstones = sorted.filter((e) => isTombstone(e))
  const applied: Event[] = []
  const discarded: string[] = []
  for (const event of sorted) {
    if (isTombstone(event)) continue
    if (tombstones.some((t) => removes(t, event, config.deleteRule))) discarded.push(event.id)
    else applied.push(event)
  }
  if (applied.length === 0) {
    const deletedBy = tombstones[tombstones.length - 1]
    if (deletedBy === undefined) {
      return {
        aggregateId,
        status: 'absent',
        data: {},
        appliedEventIds: [],
        discardedEventIds: discarded,
      }
    }
    const stamp = hlcOf(deletedBy)
    return {
      aggregateId,
      status: 'deleted',
      data: {},
      appliedEventIds: [],
      discardedEventIds: discarded,
      deletedBy: deletedBy.id,
      ...(stamp !== undefined ? { hlc: stamp } : {}),
    }
  }
  const stamp = hlcOf(applied[applied.length - 1] as Event)
  return {
    aggregateId,
    status: 'live',
    data: applyEdits(applied, config),
    appliedEventIds: applied.map((e) => e.id),
    discardedEventIds: discarded,
    ...(stamp !== undefined ? { hlc: stamp } : {}),
  }
}

/** Does the delete `tombstone` remove the edit `edit`? */
function removes(tombstone: Event, edit: Event, rule: DeleteRule): boolean {
  switch (eventRelation(edit, tombstone)) {
    case 'before':
    case 'equal':
      return true
    case 'after':
      return false
    case 'concurrent':
      return rule === 'delete-wins' || compareEvents(edit, tombstone) < 0
    case 'unknown':
      return compareEvents(edit, tombstone) < 0
  }
}

/** Did the remove in `remover` see (and so cancel) the add in `adder`? */
function observes(remover: Event, adder: Event): boolean {
  if (remover === adder) return false // within one event, its own adds survive its removes
  switch (eventRelation(adder, remover)) {
    case 'before':
      return true
    case 'after':
    case 'concurrent':
      return false
    default:
      return compareEvents(adder, remover) < 0
  }
}

/**
 * Rule 1 for one value field: of its writes that no other write of the field happened after (the
 * field's causal frontier — the values a multi-value register would hold), the latest in
 * `compareEvents` order. So a write made after seeing another always replaces it, whatever the
 * stamps, and concurrent writes are decided by HLC exactly as the resolvers decide them.
 *
 * Source: the multi-value register of Shapiro, Preguiça, Baquero, Zawirski, "A comprehensive study
 * of Convergent and Commutative Replicated Data Types" (INRIA RR-7506, 2011), resolved to one value
 * by the HLC (Kulkarni et al. 2014) as last-writer-wins registers are.
 * @param writes - the field's writes, in `compareEvents` order (at least one).
 * @returns the winning write; the last one when forged contexts leave no frontier (a cycle).
 */
function latestWrite<T extends { readonly event: Event }>(writes: readonly T[]): T {
  for (let i = writes.length - 1; i >= 0; i--) {
    const write = writes[i] as T
    if (!writes.some((other) => eventRelation(write.event, other.event) === 'before')) return write
  }
  return writes[writes.length - 1] as T
}

function applyEdits(
  applied: readonly Event[],
  config: MaterializeConfig,
): Record<string, JsonValue> {
  const state = new Map<string, JsonValue>()
  const writes = new Map<string, { event: Event; value: JsonValue }[]>()
  const adds = new Map<string, { event: Event; key: string; value: JsonValue }[]>()
  const removals = new Map<string, { event: Event; key: string }[]>()
  for (const event of applied) {
    const data = event.data
    if (!isJsonObject(data)) continue
    for (const field of Object.keys(data)) {
      const value = data[field]
      if (value === undefined) continue
      if (config.counters.has(field)) {
        const delta = readCounterDelta(event, field, 'materialize') as number
        state.set(field, ((state.get(field) as number | undefined) ?? 0) + delta)
      } else if (config.sets.has(field)) {
        const op = readSetOperation(event, field, 'materialize')
        if (op === undefined) continue
        const a = adds.get(field) ?? []
        for (const item of op.add) a.push({ event, key: canonicalJson(item), value: item })
        adds.set(field, a)
        const r = removals.get(field) ?? []
        for (const item of op.remove) r.push({ event, key: canonicalJson(item) })
        removals.set(field, r)
      } else {
        const write = { event, value }
        const list = writes.get(field)
        if (list === undefined) writes.set(field, [write])
        else list.push(write)
      }
    }
  }
  for (const [field, list] of writes) {
    const { value } = latestWrite(list)
    if (value !== null) state.set(field, value)
  }
  for (const field of new Set([...adds.keys(), ...removals.keys()])) {
    const present = new Map<string, JsonValue>()
    const removed = removals.get(field) ?? []
    for (const add of adds.get(field) ?? []) {
      if (present.has(add.key)) continue
      const cancelled = removed.some((r) => r.key === add.key && observes(r.event, add.event))
      if (!cancelled) present.set(add.key, add.value)
    }
    state.set(field, [...present.values()].sort(compareJson))
  }
  const out: Record<string, JsonValue> = {}
  for (const field of [...state.keys()].sort(compareCodePoints)) {
    // defineProperty, not assignment: a "__proto__" field must stay data, never become the
    // state's prototype (whose properties would then show through as fields).
    Object.defineProperty(out, field, {
      value: state.get(field) as JsonValue,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}
