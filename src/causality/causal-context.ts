/**
 * Reading an event's causal stamps (`metadata.origin`, `metadata.causal`), parsed once per event
 * object into one cache that every reader shares: the `SyncManager`'s conflict detection (the
 * writer's dot, {@link causalContextOf}) and the projections' and resolvers' whole-clock comparison
 * ({@link causalClockOf}). The shared cache keeps the events read most recently
 * ({@link RECENT_CONTEXTS} of them): the readers of one event follow each other closely (a pulled
 * page is stored, observed and recorded as held), and an event a replica keeps does not keep its
 * parsed clock beside it. Readers that pass over many events a store keeps (the manager's
 * start-up scan and push pass, `materializeAggregate`) run in {@link withFoldCache}, a cache of
 * their own dropped when they return, so a long pass neither parses an event twice nor evicts the
 * recent ones.
 *
 * A context longer than `MAX_VECTOR_CLOCK_ENTRIES` does not parse and counts as missing: the
 * `SyncManager` writes bounded contexts (rule 4 of docs/causality.md), so only a foreign or forged
 * event carries one, and it takes no part in causality.
 *
 * @module
 */
import type { Event } from '../types/index.js'
import { type ClockEntryVisitor, type ClockMap, readClock } from '../versions/clock-map.js'

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

/**
 * How many events' parsed stamps the shared cache keeps: 8,192, the most recently parsed (a live
 * batch holds at most 2,000 events). Held strongly, so at most this many events (and their
 * context texts, ~1 KB each with 100 writers) stay alive through the cache alone.
 */
export const RECENT_CONTEXTS = 8_192

/** The shared cache: the recent events, oldest first (a `Map` iterates in insertion order). */
const recent = new Map<Event, Parsed>()

function parse(event: Event, visit: ClockEntryVisitor | undefined): Parsed {
  const text = event.metadata?.causal
  const origin = event.metadata?.origin
  let seq = 0
  // One walk: the writer's count is found among the entries as they are read.
  const clock = readClock(text, (start, end, count) => {
    if (
      typeof origin === 'string' &&
      end - start === origin.length &&
      (text as string).startsWith(origin, start)
    ) {
      seq = count
    }
    visit?.(start, end, count)
  })
  if (clock === undefined) return null
  const plausible = seq > 0 && clock.max <= MAX_CAUSAL_COUNT
  return { clock, context: plausible ? { origin: origin as string, seq, clock } : undefined }
}

/** Where parsed stamps go: the shared cache, or the cache of the fold running now. */
let current = recent

function parsed(event: Event, visit?: ClockEntryVisitor): Parsed {
  let hit = current.get(event)
  if (hit === undefined) {
    if (current === recent && recent.size >= RECENT_CONTEXTS) {
      recent.delete(recent.keys().next().value as Event)
    }
    current.set(event, (hit = parse(event, visit)))
  }
  return hit
}

/**
 * Runs a pass over events that live long (a store's own copies: `materializeAggregate` over a
 * loaded log, the manager's start-up scan, catch-up and push pass) with a cache of its own,
 * dropped when `run` returns: the pass still parses each event's stamps once, keeps no parsed
 * clock beside each stored event afterwards, and does not evict the shared cache's recent events.
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
 * {@link causalContextOf} for the reader that needs every entry of the clock (the manager's
 * causal tracker): when the stamps are parsed now, `visit` gets each entry during that one walk;
 * when they were parsed before, it gets none (the caller walks the checked text itself). It may
 * see some entries of a text that turns out malformed (then the result is `undefined`).
 * @param event - any event.
 * @param visit - gets each entry (its node id's span in the text, and its count).
 * @returns as {@link causalContextOf}.
 */
export function causalContextVisiting(
  event: Event,
  visit: ClockEntryVisitor,
): CausalContext | undefined {
  return parsed(event, visit)?.context
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
