import { canonicalJson } from '../core/event-validation.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { causalClockOf } from '../causality/causal-context.js'
import { compareCodePoints } from '../projections/json-order.js'
import { compareEvents, hlcOf } from '../projections/event-order.js'
import type { Event, EventMetadata, JsonValue } from '../types/index.js'
import { HLC_MAX_COUNTER, Hlc } from '../versions/hlc.js'
import { VectorClock } from '../versions/vector-clock.js'
import { sha256Hex } from './sha256.js'

/**
 * The event type of merge events the built-in resolvers create.
 *
 * @example
 * ```ts
 * import { MERGE_EVENT_TYPE } from 'sync-kit'
 *
 * const isMerge = event.type === MERGE_EVENT_TYPE
 * ```
 */
export const MERGE_EVENT_TYPE = 'sync-kit:merge'

/**
 * `metadata.origin` of merge events. Not a valid node id (it holds a `:`), so it never collides
 * with a replica: a merge event has no writer, and therefore no "dot" in any vector clock.
 *
 * @example
 * ```ts
 * import { MERGE_ORIGIN } from 'sync-kit'
 *
 * const writtenByResolver = event.metadata?.origin === MERGE_ORIGIN
 * ```
 */
export const MERGE_ORIGIN = 'sync-kit:merge'

/** Options for {@link createMergeEvent}. */
export interface MergeEventOptions {
  /** Names the resolver in `metadata.resolver`, for audits. @defaultValue `'merge'` */
  readonly resolver?: string
  /** The event type. @defaultValue {@link MERGE_EVENT_TYPE} */
  readonly type?: string
}

/**
 * Builds the event that records a merge of two (or more) conflicting events, with an id and
 * content that depend only on the inputs and the merged data, so every replica that resolves the
 * same conflict the same way builds a byte-identical event and stores deduplicate it.
 *
 * - `data`: the merged payload in canonical form (object keys sorted), applied as a patch after
 *   the inputs.
 * - `metadata.hlc`: the successor of the latest input stamp (same wall time and node id, counter
 *   + 1), so the merge sorts after both inputs in HLC order. Inputs without stamps give
 *   `000000000000-0000-merge`, after every unstamped and before every stamped event.
 * - `metadata.causal`: the join (entry-wise max) of the inputs' causal contexts, when all have
 *   one and the join fits `MAX_VECTOR_CLOCK_ENTRIES`; `metadata.origin`: {@link MERGE_ORIGIN}.
 * - `metadata.merged`: the input ids in code-point order; `metadata.resolver`: who merged;
 *   `metadata.tenant`: kept when all inputs share it.
 * - `id`: `merge:` + the first 32 hex digits (128 bits) of the SHA-256 of the canonical JSON
 *   (RFC 8785 key order) of everything above. Content-addressed: the same content always gets
 *   the same id, different content never does.
 *
 * @param inputs - the conflicting events (at least two, one aggregate), in any order.
 * @param data - the merged payload (JSON).
 * @param options - resolver name and event type.
 * @returns the merge event.
 * @throws SyncKitError `invalid-argument` for fewer than two inputs, inputs of different
 * aggregates, or `data` that is not JSON; `clock-overflow` past the year 10889.
 * @example
 * ```ts
 * import { createMergeEvent } from 'sync-kit'
 *
 * const merged = createMergeEvent([conflict.local.event, conflict.remote.event], { title: 'Both' })
 * ```
 */
export function createMergeEvent(
  inputs: readonly Event[],
  data: JsonValue,
  options: MergeEventOptions = {},
): Event<string, JsonValue> {
  if (inputs.length < 2) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [merge] a merge needs at least two input events, got ${inputs.length}`,
      { argument: 'inputs' },
    )
  }
  const ordered = [...inputs].sort(compareEvents)
  const aggregateId = (ordered[0] as Event).aggregateId
  if (ordered.some((e) => e.aggregateId !== aggregateId)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [merge] merge inputs must belong to one aggregate, got "${aggregateId}" and "${ordered.find((e) => e.aggregateId !== aggregateId)?.aggregateId ?? ''}"`,
      { argument: 'inputs' },
    )
  }
  const metadata: Record<string, JsonValue> = {
    hlc: successorStamp(hlcOf(ordered[ordered.length - 1] as Event)),
    merged: ordered.map((e) => e.id).sort(compareCodePoints),
    origin: MERGE_ORIGIN,
    resolver: options.resolver ?? 'merge',
  }
  const causal = joinCausal(ordered)
  if (causal !== undefined) metadata['causal'] = causal
  const tenant = ordered[0]?.metadata?.tenant
  if (typeof tenant === 'string' && ordered.every((e) => e.metadata?.tenant === tenant)) {
    metadata['tenant'] = tenant
  }
  const type = options.type ?? MERGE_EVENT_TYPE
  let text: string
  try {
    text = canonicalJson({ aggregateId, data, metadata, type })
  } catch (cause) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [merge] merged data for aggregate "${aggregateId}" is not JSON; return plain objects, arrays, strings, finite numbers, booleans or null`,
      { argument: 'data' },
      { cause },
    )
  }
  // Round-trip through the canonical text: sorted keys, -0 → 0, no undefined properties.
  const content = JSON.parse(text) as {
    aggregateId: string
    data: JsonValue
    metadata: EventMetadata
    type: string
  }
  return {
    id: `merge:${sha256Hex(text).slice(0, 32)}`,
    type: content.type,
    aggregateId: content.aggregateId,
    data: content.data,
    metadata: content.metadata,
  }
}

function successorStamp(latest: string | undefined): string {
  if (latest === undefined) return new Hlc(0, 0, 'merge').toString()
  const h = Hlc.parse(latest)
  const next =
    h.counter < HLC_MAX_COUNTER
      ? new Hlc(h.wallMs, h.counter + 1, h.nodeId)
      : new Hlc(h.wallMs + 1, 0, h.nodeId)
  return next.toString()
}

function joinCausal(inputs: readonly Event[]): string | undefined {
  let joined: VectorClock | undefined
  for (const event of inputs) {
    const parsed = causalClockOf(event)
    if (parsed === undefined) return undefined
    try {
      const clock = VectorClock.from(parsed)
      joined = joined === undefined ? clock : joined.merge(clock)
    } catch {
      // A join past MAX_VECTOR_CLOCK_ENTRIES (clock-overflow): no context rather than a cut one —
      // a merge has no dot, so dropping entries would claim it happened before events that never
      // saw its inputs. Without context it is ordered by its stamp, right after its inputs.
      return undefined
    }
  }
  return joined?.toString()
}
