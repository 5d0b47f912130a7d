/**
 * The causal relation of two events, two ways over the one cache of `causal-context.ts`: by the
 * writer's dot ({@link causalRelation}, {@link relate}: conflict detection) and by the whole
 * vector clock ({@link eventRelation}: projections and resolvers, which also meet merge events).
 *
 * @module
 */
import type { Event } from '../types/index.js'
import { type CausalContext, causalClockOf, causalContextOf } from './causal-context.js'

/** The causal relation of two events, or `unknown` when one lacks causal context. */
export type EventRelation = 'before' | 'after' | 'equal' | 'concurrent' | 'unknown'

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

/**
 * The causal relation of two events, by comparing their whole causal contexts (vector clocks):
 * `a` happened before `b` iff `a.causal ≤ b.causal` entry by entry and they differ.
 *
 * For an event recorded by the `SyncManager` (whose causal context includes its own increment)
 * this is the same answer as the dot test of {@link causalRelation}. It also works for merge
 * events, which have no writer and hence no dot of their own: their context is the join of their
 * inputs, and an event that has seen both inputs has seen everything the merge was made from.
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
