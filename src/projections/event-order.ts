import { type EventRelation, eventRelation } from '../causality/event-relation.js'
import type { Event } from '../types/index.js'
import { isHlcStamp } from '../versions/hlc-stamp.js'
import { compareCodePoints } from './json-order.js'

/**
 * The event's HLC stamp (`metadata.hlc`) when it is a valid stamp, else `undefined`. Malformed
 * stamps count as missing, exactly like the `SyncManager` treats them, so one bad event never
 * stops a resolver or a projection. Valid stamp texts compare as strings exactly in HLC order.
 *
 * @param event - any event.
 * @returns the stamp's string form, or `undefined`.
 */
export function hlcOf(event: Event): string | undefined {
  const stamp = event.metadata?.hlc
  return isHlcStamp(stamp) ? stamp : undefined
}

/**
 * The clock order of events: a total order, identical on every replica whatever order the events
 * arrived in. It sorts lists (applied edits, merge inputs) and decides between concurrent events;
 * between causally related ones causality decides (rule 1: causality first).
 *
 * 1. By HLC stamp (`metadata.hlc`): wall time, then counter, then node id by byte order — the
 *    string form sorts exactly like that. Events without a valid stamp (written before sync-kit
 *    stamped them, or by hand) sort before every stamped event.
 * 2. Ties (the same stamp, or both unstamped) by event id in code-point (UTF-8 byte) order.
 *
 * Because the `SyncManager` stamps events with a hybrid logical clock, an event that causally
 * follows another usually has a greater stamp — but not always: a remote stamp beyond the drift
 * bound is quarantined (it does not advance the local clock), so local events written after seeing
 * it sort before it until wall time catches up. That is why resolvers and projections never let
 * this order overrule causality.
 *
 * @param a - one event.
 * @param b - another event.
 * @returns `-1` when `a` comes first, `1` when `b` does, `0` for the same id.
 * @example
 * ```ts
 * import { compareEvents } from 'sync-kit'
 *
 * const ordered = [...events].sort(compareEvents)
 * ```
 */
export function compareEvents(a: Event, b: Event): -1 | 0 | 1 {
  return compareStamps(hlcOf(a), a.id, hlcOf(b), b.id)
}

/**
 * {@link compareEvents} on stamps already read ({@link hlcOf}) — for a caller that compares one
 * event many times (the `SyncManager` picking the newest of an aggregate's heads).
 * @param x - the first event's stamp, or `undefined`.
 * @param xId - its id.
 * @param y - the second event's stamp, or `undefined`.
 * @param yId - its id.
 * @returns as {@link compareEvents}.
 */
export function compareStamps(
  x: string | undefined,
  xId: string,
  y: string | undefined,
  yId: string,
): -1 | 0 | 1 {
  if (x !== y) {
    if (x === undefined) return -1
    if (y === undefined) return 1
    return x < y ? -1 : 1
  }
  return compareCodePoints(xId, yId)
}

/**
 * Rule 1 of docs/causality.md, "causality first, clocks second", for one pair: when one event
 * happened after the other (its writer had seen it, {@link eventRelation} says `before`/`after`),
 * it is the later, whatever the stamps; only concurrent events, and events without causal context,
 * are ordered by {@link compareEvents} (HLC, then id).
 *
 * Antisymmetric (`compareCausally(a, b) === -compareCausally(b, a)`), so both replicas of a
 * conflict order its pair alike; but not transitive once a stamp contradicts causality (a → b with
 * `hlc(a) > hlc(b)`, and c concurrent with both and stamped between them), so it decides pairs and
 * is never a sort comparator. `materializeAggregate` applies it per field among the field's
 * causally latest writes (see there).
 *
 * @param a - one event.
 * @param b - another event.
 * @param relation - `eventRelation(a, b)`, when the caller has it already.
 * @returns `-1` when `b` wins over `a`, `1` when `a` wins, `0` for the same id.
 */
export function compareCausally(
  a: Event,
  b: Event,
  relation: EventRelation = eventRelation(a, b),
): -1 | 0 | 1 {
  return relation === 'before' ? -1 : relation === 'after' ? 1 : compareEvents(a, b)
}
