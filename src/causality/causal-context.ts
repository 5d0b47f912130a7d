/**
 * Reading an event's causal stamps (`metadata.origin`, `metadata.causal`), parsed once per event
 * object into one cache that every reader shares: the `SyncManager`'s conflict detection (the
 * writer's dot, {@link causalContextOf}) and the projections' and resolvers' whole-clock comparison
 * ({@link causalClockOf}). The cache is the event object itself: its parsed stamps go into a
 * private field (frozen events too), so they live exactly as long as the event and cost no map
 * entry (a `WeakMap` of millions of events slowed every garbage collection; a bounded map of the
 * recent ones parsed the aggregates' heads again at every conflict). Readers that pass over many
 * events a store keeps (the manager's start-up scan and push pass, `materializeAggregate`) run in
 * {@link withFoldCache}, a cache of their own dropped when they return, so those passes stamp
 * nothing. The events a manager records or pulls are read outside a fold, and the memory store
 * keeps those very (sealed) objects: its records carry their parsed stamps (~100 B each).
 *
 * A context longer than `MAX_VECTOR_CLOCK_ENTRIES` does not parse and counts as missing: the
 * `SyncManager` writes bounded contexts (rule 4 of docs/causality.md), so only a foreign or forged
 * event carries one, and it takes no part in causality.
 *
 * @module
 */
import type { Event } from '../types/index.js'
import { Stamp } from '../core/stamp.js'
import { type ClockMap, type ClockSpans, readClock } from '../versions/clock-map.js'

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
 * The shared cache: each event object carries its parsed stamps in a private field, added when
 * they are first read (see `Stamp`: frozen events too, and no map entry per event to slow the
 * garbage collector). They live as long as the event object does.
 */
class ParsedStamps extends Stamp {
  readonly #parsed: Parsed

  /**
   * Stamps an event with its parsed stamps.
   * @param event - the event object (never stamped before).
   * @param parsed - what its stamps parse to.
   */
  constructor(event: Event, parsed: Parsed) {
    super(event)
    this.#parsed = parsed
  }

  /**
   * @param event - any event object.
   * @returns its parsed stamps, `undefined` when never read.
   */
  static get(event: Event): Parsed | undefined {
    return #parsed in event ? (event as unknown as ParsedStamps).#parsed : unstampable.get(event)
  }
}

/**
 * The parsed stamps of the events that cannot take a private field: non-extensible ones on engines
 * that apply the TC39 proposal "Disallow Adding New Private Fields to Non-extensible Objects"
 * (stage 3; adding the field then throws a `TypeError`), and an event whose `metadata` getter read
 * its own stamps while they were parsed (stamped already).
 */
const unstampable = new WeakMap<Event, Parsed>()

const shared = {
  get: ParsedStamps.get,
  set(event: Event, parsed: Parsed): void {
    try {
      new ParsedStamps(event, parsed)
    } catch {
      unstampable.set(event, parsed)
    }
  },
}

/** Scratch of {@link parse} when its caller keeps no spans (parsing is synchronous). */
const scratch: ClockSpans = []

function parse(event: Event, spans: ClockSpans): Parsed {
  const text = event.metadata?.causal
  const origin = event.metadata?.origin
  const clock = readClock(text, spans)
  if (clock === undefined) return null
  // The writer's count, found among the entries the walk read.
  let seq = 0
  if (typeof origin === 'string') {
    const n = origin.length
    for (let i = 0; i < 3 * clock.size; i += 3) {
      const start = spans[i] as number
      if ((spans[i + 1] as number) - start === n && (text as string).startsWith(origin, start)) {
        seq = spans[i + 2] as number
        break
      }
    }
  }
  const plausible = seq > 0 && clock.max <= MAX_CAUSAL_COUNT
  return { clock, context: plausible ? { origin: origin as string, seq, clock } : undefined }
}

/** Where parsed stamps go: the event objects, or the cache of the fold running now. */
let current: { get(event: Event): Parsed | undefined; set(event: Event, parsed: Parsed): unknown } =
  shared

function parsed(event: Event, spans: ClockSpans = scratch): Parsed {
  // Not an object (a caller's bad input: `null`, a string): no stamps.
  if (typeof event !== 'object' || event === null) return null
  let hit = current.get(event)
  if (hit === undefined) current.set(event, (hit = parse(event, spans)))
  return hit
}

/**
 * Runs a pass over events that live long (a store's own copies: `materializeAggregate` over a
 * loaded log, the manager's start-up scan, catch-up and push pass) with a cache of its own,
 * dropped when `run` returns: the pass still parses each event's stamps once, keeps no parsed
 * clock beside each stored event afterwards, and does not stamp the events it reads.
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
 * causal tracker): when the stamps are parsed now, `spans` gets each entry's span and count
 * during that one walk (as many as the context's `clock.size`); when they were parsed before,
 * `spans[0]` is -1 (the caller walks the checked text itself). It may hold some entries of a text
 * that turns out malformed (then the result is `undefined`).
 * @param event - any event.
 * @param spans - given each entry's `start, end, count` in the text (see `scanClock`).
 * @returns as {@link causalContextOf}.
 */
export function causalContextSpans(event: Event, spans: ClockSpans): CausalContext | undefined {
  spans[0] = -1
  return parsed(event, spans)?.context
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
