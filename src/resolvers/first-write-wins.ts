import { throwIfAborted } from '../errors/abort.js'
import { checkDeleteRule } from '../projections/tombstone.js'
import type { DeleteRule } from '../projections/tombstone.js'
import type { ConflictResolver, Event } from '../types/index.js'
import {
  describe,
  keepEvent,
  orderConflict,
  prevailingPatch,
  resolveFixed,
} from './conflict-pair.js'
import { createMergeEvent } from './merge-event.js'

/** Options for {@link firstWriteWins}. */
export interface FirstWriteWinsOptions {
  /**
   * How a conflict between a delete and an edit is decided; see `DeleteRule`.
   * @defaultValue `'delete-wins'`
   */
  readonly deleteRule?: DeleteRule
}

/**
 * Of two concurrent events the earlier wins (smaller HLC stamp; ties by event id in code-point
 * order; unstamped before stamped — see `compareEvents`). Useful for "claim" semantics: the first
 * to book a seat keeps it. Causality first (rule 1 of docs/causality.md): an event written after
 * seeing the other is no rival claim but its successor, so it wins, and nothing is written.
 *
 * Projections let the later of two concurrent writes of a field prevail (by HLC).
 * So when the later event set some field the earlier one also set, to another value, the
 * resolver writes one correction merge event (`createMergeEvent`: deterministic id and content,
 * sorted after both) that restores the earlier event's values of those fields. Fields only the
 * later event set were not contested and stay. A conflict with a delete follows `deleteRule`.
 *
 * @param options - the delete rule.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` for an unknown `deleteRule`; its `resolve` throws
 * `invalid-argument` for a malformed conflict and `aborted` when the signal fired.
 * @example
 * ```ts
 * import { SyncManager, firstWriteWins } from 'sync-kit'
 *
 * const manager = new SyncManager({ store, transport, nodeId: 'kiosk-1', resolver: firstWriteWins() })
 * ```
 */
export function firstWriteWins(options: FirstWriteWinsOptions = {}): ConflictResolver {
  const deleteRule = checkDeleteRule(options.deleteRule, 'first-write-wins')
  const resolver = {
    async resolve(conflict, resolveOptions) {
      throwIfAborted(resolveOptions?.signal, '[sync-kit] [first-write-wins] resolve')
      const pair = orderConflict(conflict, 'first-write-wins')
      const byDelete = resolveFixed(conflict, pair, deleteRule, 'first-write-wins')
      if (byDelete !== undefined) return byDelete
      const { earlier, later } = pair
      const reasons = [`first-write-wins: ${describe(earlier)} is earlier than ${describe(later)}`]
      const correction = prevailingPatch(pair, earlier)
      const extra: Event[] = []
      if (correction.needed) {
        const event = createMergeEvent([earlier, later], correction.data, {
          resolver: 'first-write-wins',
        })
        extra.push(event)
        reasons.push(
          `first-write-wins: merge event "${event.id}" restores ${correction.what} of ${describe(earlier)}`,
        )
      }
      return keepEvent(conflict, earlier, reasons, extra)
    },
  } satisfies ConflictResolver
  return resolver
}
