// Shared fixtures for the resolver and projection tests (not shipped: no entry imports it).
import type { Conflict, Event, JsonValue } from '../types/index.js'
import { Hlc } from '../versions/hlc.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { VectorClock } from '../versions/vector-clock.js'

/** How to stamp a fixture event. */
export interface StampOptions {
  /** Writer node id (`metadata.origin`, HLC node id). */
  readonly node?: string
  /** HLC wall time in ms; omit `wall` and `hlc` for an unstamped event. */
  readonly wall?: number
  readonly counter?: number
  /** A raw `metadata.hlc` value (overrides wall/counter), e.g. a malformed one. */
  readonly hlc?: string
  /** Causal context entries (must include the writer's own count). */
  readonly causal?: Readonly<Record<string, number>>
  readonly type?: string
  readonly aggregateId?: string
  readonly tenant?: string
}

/**
 * Builds an event as the SyncManager would have stamped it.
 * @param id - event id.
 * @param data - payload.
 * @param options - stamp, type, aggregate.
 * @returns the event.
 */
export function ev(
  id: string,
  data: JsonValue,
  options: StampOptions = {},
): Event<string, JsonValue> {
  const metadata: Record<string, JsonValue> = {}
  const node = options.node ?? 'a'
  if (options.hlc !== undefined) metadata['hlc'] = options.hlc
  else if (options.wall !== undefined) {
    metadata['hlc'] = new Hlc(options.wall, options.counter ?? 0, node).toString()
  }
  if (options.causal !== undefined) {
    metadata['origin'] = node
    metadata['causal'] = VectorClock.from(Object.entries(options.causal)).toString()
  }
  if (options.tenant !== undefined) metadata['tenant'] = options.tenant
  return {
    id,
    type: options.type ?? 'Edited',
    aggregateId: options.aggregateId ?? 'doc',
    data,
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
  }
}

/**
 * Builds the conflict the SyncManager would hand to a resolver on the replica holding `local`.
 * @param local - the local head.
 * @param remote - the pulled event.
 * @returns the conflict.
 */
export function conflictOf(local: Event, remote: Event): Conflict {
  return {
    eventType: remote.type,
    aggregateId: remote.aggregateId,
    changedFields: [],
    metadata: { detectedBy: 'test' },
    local: { event: local, version: new SequenceVersion(1) },
    remote: { event: remote, version: new SequenceVersion(2) },
  }
}

/** The same conflict as seen from the other replica. */
export function swapped(conflict: Conflict): Conflict {
  return {
    ...conflict,
    eventType: conflict.local.event.type,
    local: conflict.remote,
    remote: conflict.local,
  }
}

/** Maps a decision to the other replica's point of view. */
export function mirrorDecision(decision: string): string {
  if (decision === 'keep-local') return 'keep-remote'
  if (decision === 'keep-remote') return 'keep-local'
  return decision
}

/**
 * Asserts a value is present (tests only; lint forbids `!`).
 * @param value - the value.
 * @returns it.
 */
export function must<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new Error('expected a value, got none')
  return value
}
