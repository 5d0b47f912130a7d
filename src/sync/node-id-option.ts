import { SyncKitError } from '../errors/sync-kit-error.js'
import { assertNodeId } from '../versions/hlc-stamp.js'

/**
 * Resolves the `nodeId` option of a `SyncManager`: the option when given, else the store's own
 * `replicaId` when it has one (as the IndexedDB store of `sync-kit/indexeddb` does: created with
 * the database, kept across reloads, new when the database was deleted). A missing one (the
 * mistake of a first try) is named as missing, with how to get one.
 * @param nodeId - the option as given.
 * @param store - the `store` option, asked for a `replicaId`.
 * @returns the node id.
 * @throws SyncKitError `invalid-argument` (`details.argument` `'nodeId'`) when it is missing and
 * the store has no `replicaId`, or when it (or the `replicaId` taken instead) is not 1–64
 * characters of `A-Z a-z 0-9 . _ ~ -`.
 */
export function resolveNodeId(nodeId: unknown, store: unknown): string {
  const id = nodeId || (store as { readonly replicaId?: unknown } | null)?.replicaId
  if (!id) {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-manager] option nodeId is missing: pass a stable id, e.g. a stored crypto.randomUUID()',
      { argument: 'nodeId' },
    )
  }
  assertNodeId(id as string)
  return id as string
}
