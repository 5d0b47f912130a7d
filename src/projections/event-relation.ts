import type { EventRelation } from '../sync/causality.js'
import type { Event } from '../types/index.js'
import { VectorClock } from '../versions/vector-clock.js'

const clocks = new WeakMap<Event, VectorClock | null>()

/**
 * The event's causal context (`metadata.causal`) when it is a valid vector clock, else
 * `undefined` (missing or malformed).
 * @param event - any event.
 * @returns the parsed clock, or `undefined`.
 */
export function causalClockOf(event: Event): VectorClock | undefined {
  const hit = clocks.get(event)
  if (hit !== undefined) return hit ?? undefined
  let clock: VectorClock | null = null
  const raw = event.metadata?.causal
  if (typeof raw === 'string') {
    try {
      clock = VectorClock.parse(raw)
    } catch {
      clock = null
    }
  }
  clocks.set(event, clock)
  return clock ?? undefined
}

/**
 * The causal relation of two events, by comparing their whole causal contexts (vector clocks):
 * `a` happened before `b` iff `a.causal ≤ b.causal` entry by entry and they differ.
 *
 * For an event recorded by the `SyncManager` (whose causal context includes its own increment)
 * this is the same answer as the dot test of `causalRelation`. It also works for merge events,
 * which have no writer and hence no dot of their own: their context is the join of their inputs,
 * and an event that has seen both inputs has seen everything the merge was made from.
 *
 * Source: C. J. Fidge (1988) and F. Mattern (1989): vector clocks characterise happened-before.
 *
 * @param a - one event.
 * @param b - another event.
 * @returns `before`, `after`, `equal`, `concurrent`, or `unknown` when either lacks a (valid)
 * causal context.
 */
export function eventRelation(a: Event, b: Event): EventRelation {
  const x = causalClockOf(a)
  const y = causalClockOf(b)
  if (x === undefined || y === undefined) return 'unknown'
  return x.relation(y)
}
