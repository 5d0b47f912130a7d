import { throwIfAborted } from '../errors/abort.js'
import { checkDeleteRule } from '../projections/tombstone.js'
import type { DeleteRule } from '../projections/tombstone.js'
import type { ConflictResolver } from '../types/index.js'
import { describe, keepEvent, orderConflict, resolveFixed } from './conflict-pair.js'

/** Options for {@link lastWriteWins}. */
export interface LastWriteWinsOptions {
  /**
   * How a conflict between a delete and an edit is decided; see `DeleteRule`.
   * @defaultValue `'delete-wins'`
   */
  readonly deleteRule?: DeleteRule
}

/**
 * The default resolver: the later event wins. Causality first (rule 1 of docs/causality.md): an
 * event written after seeing the other is the later, whatever the stamps. Between concurrent
 * events "later" means the greater HLC stamp (`metadata.hlc`: wall time, counter, node id by byte
 * order), ties broken by event id in code-point order, unstamped events before stamped ones (see
 * `compareEvents`).
 *
 * The outcome is the event already stored, so no new event is written. Events are patches of
 * top-level fields: the winner's value prevails for every field both events set; a field only the
 * loser set was not contested and stays (use `resolveWith` to discard the loser entirely). A
 * conflict with a delete follows `deleteRule`.
 *
 * Deterministic and symmetric: the same two events give the same winner on every replica,
 * whichever of them is local (the `decision` names the side: `keep-local` or `keep-remote`).
 *
 * @param options - the delete rule.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` for an unknown `deleteRule`; its `resolve` throws
 * `invalid-argument` for a malformed conflict and `aborted` when the signal fired.
 * @example
 * ```ts
 * import { SyncManager, lastWriteWins } from 'sync-kit'
 *
 * const manager = new SyncManager({ store, transport, nodeId: 'phone', resolver: lastWriteWins() })
 * ```
 */
export function lastWriteWins(options: LastWriteWinsOptions = {}): ConflictResolver {
  const deleteRule = checkDeleteRule(options.deleteRule, 'last-write-wins')
  const resolver = {
    async resolve(conflict, resolveOptions) {
      throwIfAborted(resolveOptions?.signal, '[sync-kit] [last-write-wins] resolve')
      const pair = orderConflict(conflict, 'last-write-wins')
      return (
        resolveFixed(conflict, pair, deleteRule, 'last-write-wins') ??
        keepEvent(conflict, pair.later, [
          `last-write-wins: ${describe(pair.later)} is later than ${describe(pair.earlier)}`,
        ])
      )
    },
  } satisfies ConflictResolver
  return resolver
}
