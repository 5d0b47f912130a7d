import type { Event } from '../types/index.js'
import { VectorClock } from '../versions/vector-clock.js'

/** The causal relation of two events, or `unknown` when one lacks causal context. */
export type EventRelation = 'before' | 'after' | 'equal' | 'concurrent' | 'unknown'

/** An event's causal identity: its writer, its position in the writer's history, and its context. */
export interface CausalContext {
  /** The writer's node id (`metadata.origin`). */
  readonly origin: string
  /** The event's own counter in the writer's history: `causal[origin]`. */
  readonly seq: number
  /** What the writer had seen, including this event (`metadata.causal`). */
  readonly clock: VectorClock
}

const cache = new WeakMap<Event, CausalContext | null>()

/**
 * Largest counter a causal context may carry and still count: 2^48 (about 2.8 · 10^14 events of
 * one replica). A context past it is treated as malformed, so a forged stamp such as
 * `phone:9007199254740991` cannot push a replica's own counter to the edge of the safe-integer
 * range, after which every `record` would fail with `clock-overflow`.
 */
export const MAX_CAUSAL_COUNT: number = 2 ** 48

/**
 * Reads an event's causal context from `metadata.origin` and `metadata.causal` (set by the
 * `SyncManager` when it records an event).
 * @param event - any event.
 * @returns the context, or `undefined` when absent or malformed — including counters past
 * {@link MAX_CAUSAL_COUNT} (such events never take part in conflict detection).
 */
export function causalContextOf(event: Event): CausalContext | undefined {
  const hit = cache.get(event)
  if (hit !== undefined) return hit ?? undefined
  let ctx: CausalContext | null = null
  const origin = event.metadata?.origin
  const causal = event.metadata?.causal
  if (typeof origin === 'string' && typeof causal === 'string') {
    try {
      const clock = VectorClock.parse(causal)
      const seq = clock.get(origin)
      const plausible = clock.entries().every(([, count]) => count <= MAX_CAUSAL_COUNT)
      if (seq > 0 && plausible) ctx = { origin, seq, clock }
    } catch {
      ctx = null
    }
  }
  cache.set(event, ctx)
  return ctx ?? undefined
}

/**
 * Tells whether `a` happened before `b`, `b` before `a`, they are the same event, or they were
 * concurrent — exactly, from their vector-clock causal contexts: `a` happened before `b` iff
 * `b.causal[a.origin] ≥ a.causal[a.origin]` (b's writer had seen a's dot).
 *
 * Source: the "dot" comparison of dotted version vectors (N. Preguiça, C. Baquero, P. S. Almeida,
 * V. Fonte, R. Gonçalves, "Dotted Version Vectors: Logical Clocks for Optimistic Replication",
 * 2010) over Fidge/Mattern vector clocks.
 *
 * @param a - an event with causal context.
 * @param b - another event with causal context.
 * @returns `before` (a → b), `after` (b → a), `equal` (same dot), `concurrent`, or `unknown`.
 * @example
 * ```ts
 * import { causalRelation } from 'sync-kit'
 *
 * if (causalRelation(local, remote) === 'concurrent') console.log('conflict')
 * ```
 */
export function causalRelation(a: Event, b: Event): EventRelation {
  const x = causalContextOf(a)
  const y = causalContextOf(b)
  if (x === undefined || y === undefined) return 'unknown'
  return relate(x, y)
}

/**
 * {@link causalRelation} on already-parsed contexts.
 * @param x - the first context.
 * @param y - the second context.
 * @returns the relation of x to y.
 */
export function relate(x: CausalContext, y: CausalContext): Exclude<EventRelation, 'unknown'> {
  if (x.origin === y.origin && x.seq === y.seq) return 'equal'
  if (y.clock.get(x.origin) >= x.seq) return 'before'
  if (x.clock.get(y.origin) >= y.seq) return 'after'
  return 'concurrent'
}
