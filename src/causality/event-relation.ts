/**
 * The causal relation of two events over the one cache of `causal-context.ts`: by the writers'
 * dots ({@link causalRelation}, {@link relate}: conflict detection), and by dots or, for merge
 * events that have none, whole vector clocks ({@link eventRelation}: projections and resolvers).
 *
 * @module
 */
import type { Event } from '../types/index.js'
import { clockRelation } from '../versions/clock-map.js'
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
 * {@link causalRelation} on already-parsed contexts. Antisymmetric even for contexts no honest
 * writer produces (each claiming to have seen the other, e.g. a forged stamp or a reused node id):
 * such a pair is `concurrent`, so both replicas of a conflict see the mirrored relation.
 * @param x - the first context.
 * @param y - the second context.
 * @returns the relation of x to y.
 */
export function relate(x: CausalContext, y: CausalContext): Exclude<EventRelation, 'unknown'> {
  return dotRelation(
    x.origin === y.origin && x.seq === y.seq,
    (y.clock.get(x.origin) ?? 0) >= x.seq,
    (x.clock.get(y.origin) ?? 0) >= y.seq,
  )
}

/**
 * The relation of two events x and y from the three facts their dots give — the one rule
 * {@link relate} and the manager's causal tracker (which reads contexts by slot) share.
 * @param sameDot - they have the same writer and counter.
 * @param xSeenByY - y's context counts x's dot (y's writer had seen x).
 * @param ySeenByX - x's context counts y's dot.
 * @returns `equal`, `concurrent` (neither or, for forged stamps, both seen), `before` or `after`.
 */
export function dotRelation(
  sameDot: boolean,
  xSeenByY: boolean,
  ySeenByX: boolean,
): Exclude<EventRelation, 'unknown'> {
  if (sameDot) return 'equal'
  if (xSeenByY === ySeenByX) return 'concurrent'
  return xSeenByY ? 'before' : 'after'
}

/**
 * The causal relation of two events, the one projections and resolvers use (rule 1 of
 * docs/causality.md: causality first, clocks second). Two events with a writer's dot compare by
 * their dots, exactly as {@link causalRelation}; when one has no dot (a merge event written by a
 * resolver, whose context is the join of its inputs'), by whole vector clocks: `a` happened before
 * `b` iff `a.causal ≤ b.causal` entry by entry and they differ.
 *
 * For events recorded by the `SyncManager` with exact contexts both tests give the same answer;
 * the dot test stays exact when contexts are bounded (a writer keeps its own entry, and those of the
 * aggregate's heads, but may drop others), where whole clocks would lose happened-before.
 *
 * Source: C. J. Fidge (1988) and F. Mattern (1989): vector clocks characterise happened-before;
 * dots as in Preguiça et al., "Dotted Version Vectors" (2010).
 *
 * @param a - one event.
 * @param b - another event.
 * @returns `before`, `after`, `equal`, `concurrent`, or `unknown` when either lacks a (valid)
 * causal context.
 */
export function eventRelation(a: Event, b: Event): EventRelation {
  const x = causalContextOf(a)
  const y = causalContextOf(b)
  if (x !== undefined && y !== undefined) return relate(x, y)
  const cx = causalClockOf(a)
  const cy = causalClockOf(b)
  return cx === undefined || cy === undefined ? 'unknown' : clockRelation(cx, cy)
}
