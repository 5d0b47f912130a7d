import type { Event } from '../types/index.js'
import { Hlc } from '../versions/hlc.js'
import { compareCodePoints } from './json-order.js'

const stamps = new WeakMap<Event, string | null>()

/**
 * The event's HLC stamp (`metadata.hlc`) when it is a valid stamp, else `undefined`. Malformed
 * stamps count as missing, exactly like the `SyncManager` treats them, so one bad event never
 * stops a resolver or a projection.
 *
 * @param event - any event.
 * @returns the stamp's string form, or `undefined`.
 */
export function hlcOf(event: Event): string | undefined {
  const hit = stamps.get(event)
  if (hit !== undefined) return hit ?? undefined
  let stamp: string | null = null
  const raw = event.metadata?.hlc
  if (typeof raw === 'string') {
    try {
      // Re-serialise so that the string compare below is exactly the HLC order.
      stamp = Hlc.parse(raw).toString()
    } catch {
      stamp = null
    }
  }
  stamps.set(event, stamp)
  return stamp ?? undefined
}

/**
 * The order in which resolvers pick "earlier" and "later" and projections apply events: a total
 * order, identical on every replica whatever order the events arrived in.
 *
 * 1. By HLC stamp (`metadata.hlc`): wall time, then counter, then node id by byte order — the
 *    string form sorts exactly like that. Events without a valid stamp (written before sync-kit
 *    stamped them, or by hand) sort before every stamped event.
 * 2. Ties (the same stamp, or both unstamped) by event id in code-point (UTF-8 byte) order.
 *
 * Because the `SyncManager` stamps events with a hybrid logical clock, an event that causally
 * follows another has a greater stamp, so this order extends happened-before — with one exception:
 * a remote stamp beyond the drift bound is quarantined (it does not advance the local clock), so
 * local events written after seeing it can sort before it until wall time catches up.
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
  const x = hlcOf(a)
  const y = hlcOf(b)
  if (x !== y) {
    if (x === undefined) return -1
    if (y === undefined) return 1
    return x < y ? -1 : 1
  }
  return compareCodePoints(a.id, b.id)
}
