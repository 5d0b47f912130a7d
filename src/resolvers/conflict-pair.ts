import { eventsEqual, jsonEqual } from '../core/event-validation.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { eventRelation } from '../causality/event-relation.js'
import { compareCausally, hlcOf } from '../projections/event-order.js'
import { compareCodePoints, isJsonObject } from '../projections/json-order.js'
import { isTombstone } from '../projections/tombstone.js'
import type { DeleteRule } from '../projections/tombstone.js'
import type { Conflict, Event, JsonValue, ResolvedConflict } from '../types/index.js'

/**
 * A conflict seen from no replica in particular: its two events ordered by rule 1 of
 * docs/causality.md (causality first, clocks second: `compareCausally`). Every replica gets the
 * same pair for the same conflict, whichever side was local, which is what makes a resolver built
 * on it deterministic.
 */
export interface ConflictPair {
  /** The aggregate both events change. */
  readonly aggregateId: string
  /** The event that comes first: causally earlier, else earlier in `compareEvents` order. */
  readonly earlier: Event
  /** The event that comes second. */
  readonly later: Event
  /**
   * True when `later` happened after `earlier` (its writer had seen it), whatever their stamps:
   * then `later` simply supersedes `earlier` and the built-in resolvers keep it without applying
   * their rule. The `SyncManager` raises conflicts between concurrent events only; a causal pair
   * reaches a resolver when it is called directly. False for concurrent events and for events
   * without causal context, which are in `compareEvents` (HLC, then id) order.
   */
  readonly causal: boolean
}

/**
 * Orders a conflict's two events and checks that they make a conflict.
 * @param conflict - the conflict as the `SyncManager` built it.
 * @param component - names the resolver in error messages.
 * @returns the ordered pair.
 * @throws SyncKitError `invalid-argument` when a side is missing, the two events belong to
 * different aggregates, or both sides are the same event.
 */
export function orderConflict(conflict: Conflict, component: string): ConflictPair {
  const local = conflict?.local?.event
  const remote = conflict?.remote?.event
  if (!isEventLike(local) || !isEventLike(remote)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] a conflict needs local.event and remote.event with string ids and aggregate ids`,
      { argument: 'conflict' },
    )
  }
  if (local.aggregateId !== remote.aggregateId) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] conflicting events "${local.id}" and "${remote.id}" belong to different aggregates ("${local.aggregateId}", "${remote.aggregateId}")`,
      { argument: 'conflict' },
    )
  }
  if (local.id === remote.id) {
    throw new SyncKitError(
      'invalid-argument',
      eventsEqual(local, remote)
        ? `[sync-kit] [${component}] event "${local.id}" is on both sides of the conflict; an event never conflicts with itself`
        : `[sync-kit] [${component}] two different events share the id "${local.id}"; event ids must be unique`,
      { argument: 'conflict' },
    )
  }
  const relation = eventRelation(local, remote)
  const [earlier, later] =
    compareCausally(local, remote, relation) < 0 ? [local, remote] : [remote, local]
  const causal = relation === 'before' || relation === 'after'
  return { aggregateId: local.aggregateId, earlier, later, causal }
}

/**
 * A decision to keep one side as it is (no new events).
 * @param conflict - the conflict (to name the side: `keep-local` or `keep-remote`).
 * @param winner - the event that prevails.
 * @param reasons - why.
 * @param extra - new events that complete the outcome (e.g. a correction merge event).
 * @returns the resolution.
 */
export function keepEvent(
  conflict: Conflict,
  winner: Event,
  reasons: readonly string[],
  extra: readonly Event[] = [],
): ResolvedConflict {
  return {
    resolvedEvents: [winner, ...extra],
    decision: winner.id === conflict.local.event.id ? 'keep-local' : 'keep-remote',
    reasons,
    winner: winner.id,
  }
}

/**
 * The outcomes no resolver option changes: a causally later event supersedes the earlier one
 * (rule 1, whatever the stamps and whichever side deletes — `materializeAggregate` agrees), and a
 * conflict in which a side is a tombstone follows the delete rule (the same rule
 * `materializeAggregate` applies, so resolver and projection agree).
 * @param conflict - the conflict.
 * @param pair - its ordered events.
 * @param rule - the delete rule.
 * @param component - the resolver's name, for the reasons.
 * @returns the resolution, or `undefined` when the pair is concurrent and neither side is a
 * tombstone: then the resolver's own rule decides.
 */
export function resolveFixed(
  conflict: Conflict,
  pair: ConflictPair,
  rule: DeleteRule,
  component: string,
): ResolvedConflict | undefined {
  const { earlier, later } = pair
  const earlierDeletes = isTombstone(earlier)
  let winner = later
  let why: string
  if (pair.causal) why = `${describe(later)} was written after seeing ${describe(earlier)}`
  else if (earlierDeletes && isTombstone(later)) {
    why = `both ${describe(earlier)} and ${describe(later)} delete the aggregate; the later delete is kept`
  } else if (earlierDeletes || isTombstone(later)) {
    const [tombstone, edit] = earlierDeletes ? [earlier, later] : [later, earlier]
    if (rule === 'delete-wins') winner = tombstone
    why = `delete ${describe(tombstone)} is concurrent with edit ${describe(edit)}; ${rule === 'delete-wins' ? 'delete-wins keeps the delete' : `edit-wins keeps the later one, ${describe(later)}`}`
  } else return undefined
  return keepEvent(conflict, winner, [`${component}: ${why}`])
}

/**
 * Keeps the later event of a causal pair: its writer had seen the earlier one (rule 1).
 * @param conflict - the conflict.
 * @param pair - its ordered events, `pair.causal` true.
 * @param component - the resolver's name, for the reasons.
 * @returns the resolution: `later` wins, nothing new is written.
 */
export function keepSuperseding(
  conflict: Conflict,
  pair: ConflictPair,
  component: string,
): ResolvedConflict {
  return resolveFixed(conflict, pair, 'delete-wins', component) as ResolvedConflict
}

/** What {@link prevailingPatch} computed. */
export interface PrevailingPatch {
  /** The patch: the winner's values of the contested fields (or its whole payload). */
  readonly data: JsonValue
  /** Names what the patch holds, for reasons: e.g. `the field(s) "a", "b"`. */
  readonly what: string
  /**
   * True when the patch changes the outcome: the winner is the earlier event and something is
   * contested. (Applied in HLC order, the later event's values prevail without help.)
   */
  readonly needed: boolean
}

/**
 * The patch that, applied after both events, makes the winner's values prevail for every
 * top-level field both events set to different values (or for the whole payload when either is
 * not an object).
 * @param pair - the ordered conflict.
 * @param winner - `pair.earlier` or `pair.later`.
 * @returns the patch and whether it is needed.
 */
export function prevailingPatch(pair: ConflictPair, winner: Event): PrevailingPatch {
  const winnerIsEarlier = winner.id === pair.earlier.id
  const loser = winnerIsEarlier ? pair.later : pair.earlier
  const w = winner.data
  const l = loser.data
  if (isJsonObject(w) && isJsonObject(l)) {
    // No prototype: a field named "__proto__" is stored, not taken as the object's prototype.
    const data = Object.create(null) as Record<string, JsonValue>
    const fields: string[] = []
    for (const field of Object.keys(w).sort(compareCodePoints)) {
      const a = w[field]
      // Own fields only: a loser without "constructor" does not hold Object's constructor.
      const b = Object.prototype.hasOwnProperty.call(l, field) ? l[field] : undefined
      if (a === undefined || b === undefined || jsonEqual(a, b)) continue
      data[field] = a
      fields.push(`"${field}"`)
    }
    return {
      data,
      what: fields.length === 0 ? 'no contested field' : `the field(s) ${fields.join(', ')}`,
      needed: winnerIsEarlier && fields.length > 0,
    }
  }
  return {
    data: (w ?? null) as JsonValue,
    what: 'the payload',
    needed: winnerIsEarlier && !jsonEqual(w, l),
  }
}

/**
 * Names an event for a reason string: its id and HLC stamp (replica-independent).
 * @param event - the event.
 * @returns e.g. `"e1" (hlc 018f…-0001-a)`.
 */
export function describe(event: Event): string {
  const stamp = hlcOf(event)
  return `"${event.id}" (${stamp === undefined ? 'no hlc' : `hlc ${stamp}`})`
}

function isEventLike(value: unknown): value is Event {
  if (typeof value !== 'object' || value === null) return false
  const e = value as Partial<Event>
  return (
    typeof e.id === 'string' &&
    e.id !== '' &&
    typeof e.aggregateId === 'string' &&
    typeof e.type === 'string'
  )
}
