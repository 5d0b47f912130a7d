/**
 * The benchmark's input: the automerge-paper editing trace (259,778 keystroke transactions by one
 * author, CC BY 4.0, see `examples/data/README.md`) turned into sync-kit events, one per txn.
 *
 * @module
 */
import { type SequentialTrace, bundledTracePath, loadTrace } from '../examples/traces/trace-file.js'
import type { Event } from '../src/index.js'

/** The trace every section uses. */
export const TRACE_FILE = 'sequential-automerge-paper.json.gz'

/** The event type of one txn (as in `npm run demo`). */
export const TXN_TYPE = 'txn'

/** Payload of a txn event: the txn's patches and its index in the trace. */
export interface TxnData {
  /** `[pos, numDeleted, inserted]` patches, applied in order. */
  readonly patches: readonly (readonly [number, number, string])[]
  /** Index of the txn in the trace. */
  readonly i: number
}

/** A txn event. */
export type TxnEvent = Event<typeof TXN_TYPE, TxnData>

/**
 * Loads the automerge-paper trace.
 * @returns the trace (its txns are the benchmark's events).
 * @throws SyncKitError `invalid-argument` when the trace file is missing or malformed.
 * @example
 * ```ts
 * import { loadBenchTrace } from './trace-events.js'
 *
 * const trace = await loadBenchTrace()
 * trace.txns.length // 259778
 * ```
 */
export async function loadBenchTrace(): Promise<SequentialTrace> {
  const trace = await loadTrace(bundledTracePath(TRACE_FILE))
  if (trace.kind !== 'sequential') {
    throw new Error(`[sync-kit] [bench] ${TRACE_FILE} must be a sequential trace`)
  }
  return trace
}

/** Options for {@link traceEvents}. */
export interface TraceEventsOptions {
  /** How many events; above the trace's length the txns repeat with new ids. */
  readonly count: number
  /**
   * Aggregate of event `i`. `'doc'` for all (the trace is one document) or a number of
   * aggregates: `round-robin` puts event `i` on aggregate `i mod k`, `blocks` puts consecutive
   * runs of `count / k` events on the same aggregate.
   * @defaultValue `{ layout: 'single' }`
   */
  readonly aggregates?:
    | { readonly layout: 'single' }
    | { readonly layout: 'round-robin' | 'blocks'; readonly count: number }
  /** Prefix of every event id, so two logs built from the trace do not share ids. @defaultValue `'e'` */
  readonly idPrefix?: string
}

/**
 * Builds `count` txn events from the trace: `{ id, type: 'txn', aggregateId, data: { patches, i } }`.
 * Fresh objects on every call, so one contender's copy cannot be shared with another's.
 * @param trace - the loaded trace.
 * @param options - how many events and on which aggregates.
 * @returns the events, oldest first.
 * @example
 * ```ts
 * import { loadBenchTrace, traceEvents } from './trace-events.js'
 *
 * const events = traceEvents(await loadBenchTrace(), {
 *   count: 10_000,
 *   aggregates: { layout: 'round-robin', count: 1_000 },
 * })
 * ```
 */
export function traceEvents(trace: SequentialTrace, options: TraceEventsOptions): TxnEvent[] {
  const { count } = options
  const txns = trace.txns
  const prefix = options.idPrefix ?? 'e'
  const layout = options.aggregates ?? { layout: 'single' }
  const aggregateOf =
    layout.layout === 'single'
      ? (): string => 'doc'
      : layout.layout === 'round-robin'
        ? (i: number): string => `doc-${i % layout.count}`
        : (i: number): string => `doc-${Math.floor(i / Math.ceil(count / layout.count))}`
  const events: TxnEvent[] = new Array<TxnEvent>(count)
  for (let i = 0; i < count; i++) {
    const txn = txns[i % txns.length]
    if (txn === undefined) throw new Error('[sync-kit] [bench] the trace has no txns')
    events[i] = {
      id: `${prefix}${i}`,
      type: TXN_TYPE,
      aggregateId: aggregateOf(i),
      data: {
        patches: txn.patches.map((p) => [p[0], p[1], p[2]] as const),
        i: i % txns.length,
      },
    }
  }
  return events
}

/**
 * Splits a list into consecutive chunks.
 * @param items - the list.
 * @param size - chunk length (the last may be shorter).
 * @returns the chunks.
 * @example
 * ```ts
 * import { chunks } from './trace-events.js'
 *
 * chunks([1, 2, 3], 2) // [[1, 2], [3]]
 * ```
 */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
