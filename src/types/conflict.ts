import type { SignalOptions } from './common.js'
import type { Event, EventWithVersion, JsonValue } from './event.js'

/**
 * Two concurrent changes to the same aggregate: a local event and a remote event, neither of which
 * happened before the other.
 */
export interface Conflict<TEvent extends Event = Event> {
  /** The remote event's type. */
  readonly eventType: string
  /** The aggregate both events change. */
  readonly aggregateId: string
  /**
   * Top-level keys of `data` whose values differ between the two events (or that only one of
   * them has), sorted. Empty when the data is equal or not an object.
   */
  readonly changedFields: readonly string[]
  /** Extra context for the resolver (e.g. the replica ids involved). */
  readonly metadata: Readonly<Record<string, JsonValue>>
  /** The local side, with its local store version. */
  readonly local: EventWithVersion<TEvent>
  /** The remote side, with its local store version. */
  readonly remote: EventWithVersion<TEvent>
}

/** The well-known decisions; resolvers may use their own strings too. */
export type ConflictDecision = 'keep-local' | 'keep-remote' | 'merge' | 'defer' | (string & {})

/** What a resolver decided. */
export interface ResolvedConflict {
  /**
   * Events that express the outcome. Events already stored (the winner) are kept as they are;
   * new events (e.g. a merge) are recorded locally and synced like any other event, so their ids
   * must be deterministic to keep replicas that resolve the same conflict from diverging.
   */
  readonly resolvedEvents: readonly Event[]
  /** The decision, e.g. `keep-remote`. */
  readonly decision: ConflictDecision
  /** Why, for logs and audits. */
  readonly reasons: readonly string[]
  /** The id of the event whose change prevails, when one side wins outright. */
  readonly winner?: string
}

/**
 * Strategy that decides a {@link Conflict}. Must be deterministic: the same conflict gives the
 * same result on every replica, whichever side is "local".
 *
 * @example
 * ```ts
 * import type { ConflictResolver } from 'sync-kit/types'
 *
 * const keepRemote = {
 *   async resolve(conflict) {
 *     return { resolvedEvents: [conflict.remote.event], decision: 'keep-remote', reasons: [] }
 *   },
 * } satisfies ConflictResolver
 * ```
 */
export interface ConflictResolver {
  /**
   * Decides a conflict.
   * @param conflict - the two concurrent events and what differs.
   * @returns the decision and the events that express it.
   * @throws whatever the strategy throws; the `SyncManager` reports it as a `resolver-failed`
   * error and keeps the conflict unresolved.
   */
  resolve(conflict: Conflict, options?: SignalOptions): Promise<ResolvedConflict>
}
