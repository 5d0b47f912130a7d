/**
 * Reading an event's causal stamps (`metadata.origin`, `metadata.causal`), parsed once per event
 * object into one cache that every reader shares: the `SyncManager`'s conflict detection (the
 * writer's dot, {@link causalContextOf}) and the projections' and resolvers' whole-clock comparison
 * ({@link causalClockOf}). Readers that pass once over events a store keeps (the manager's
 * start-up scan and push pass, `materializeAggregate`) do not leave a parsed clock beside each of
 * them: they run in {@link withFoldCache}, whose cache is dropped when they return.
 *
 * A context longer than `MAX_VECTOR_CLOCK_ENTRIES` does not parse and counts as missing: the
 * `SyncManager` writes bounded contexts (rule 4 of docs/causality.md), so only a foreign or forged
 * event carries one, and it takes no part in causality.
 *
 * @module
 */
import type { Event } from '../types/index.js'
import { type ClockMap, readClock } from '../versions/clock-map.js'

export type { ClockMap }

/** An event's causal identity: its writer, its position in the writer's history, and its context. */
export interface CausalContext {
  /** The writer's node id (`metadata.origin`). */
  readonly origin: string
  /** The event's own counter in the writer's history: `causal[origin]`. */
  readonly seq: number
  /** What the writer had seen, including this event (`metadata.causal`): node id → count. */
  readonly clock: ClockMap
}

/**
 * Largest counter a causal context may carry and still count: 2^48 (about 2.8 · 10^14 events of
 * one replica). A context past it is treated as malformed, so a forged stamp such as
 * `phone:9007199254740991` cannot push a replica's own counter to the edge of the safe-integer
 * range, after which every `record` would fail with `clock-overflow`.
 */
export const MAX_CAUSAL_COUNT: number = 2 ** 48

/**
 * What one event's stamps parse to: its clock when `metadata.causal` is a valid vector clock, and
 * its context when it also has a writer with a plausible dot. `null` when `metadata.causal` is
 * missing or malformed.
 */
type Parsed = { readonly clock: ClockMap; readonly context: CausalContext | undefined } | null

const cache = new WeakMap<Event, Parsed>()

function parse(event: Event): Parsed {
  const clock = readClock(event.metadata?.causal)
  if (clock === undefined) return null
  const origin = event.metadata?.origin
  const seq = (typeof origin === 'string' && clock.get(origin)) || 0
  const plausible = seq > 0 && clock.max <= MAX_CAUSAL_COUNT
  return { clock, context: plausible ? { origin: origin as string, seq, clock } : undefined }
}

/** Where parsed stamps go: the shared cache, or the cache of the fold running now. */
let current: WeakMap<Event, Parsed> | Map<Event, Parsed> = cache

function parsed(event: Event): Parsed {
  let hit = current.get(event)
  if (hit === undefined) current.set(event, (hit = parse(event)))
  return hit
}

/**
 * Runs a pass over events that live long (a store's own copies: `materializeAggregate` over a
 * loaded log, the manager's start-up scan, catch-up and push pass) with a cache of its own,
 * dropped when `run` returns: the pass still parses each event's stamps once, but keeps no parsed
 * clock beside each stored event afterwards (~6 KB per event with 100-writer contexts).
 * @param run - the fold; synchronous.
 * @returns what `run` returns.
 */
export function withFoldCache<T>(run: () => T): T {
  const outer = current
  current = new Map()
  try {
    return run()
  } finally {
    current = outer
  }
}

/**
 * Reads an event's causal context from `metadata.origin` and `metadata.causal` (set by the
 * `SyncManager` when it records an event).
 * @param event - any event.
 * @returns the context, or `undefined` when absent or malformed — including counters past
 * {@link MAX_CAUSAL_COUNT} (such events never take part in conflict detection).
 */
export function causalContextOf(event: Event): CausalContext | undefined {
  return parsed(event)?.context
}

/**
 * The event's causal context (`metadata.causal`) when it is a valid vector clock, else
 * `undefined` (missing or malformed). Unlike {@link causalContextOf} it needs no writer, so it
 * also reads merge events.
 * @param event - any event.
 * @returns the parsed clock, or `undefined`.
 */
export function causalClockOf(event: Event): ClockMap | undefined {
  return parsed(event)?.clock
}
