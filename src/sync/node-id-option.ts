import { SyncKitError } from '../errors/sync-kit-error.js'
import { assertNodeId } from '../versions/hlc-stamp.js'

/**
 * Checks the `nodeId` option of a `SyncManager`. A missing one (the mistake of a first try) is
 * named as missing, with how to get one: the store's own `replicaId` when it has one (as the
 * IndexedDB store of `sync-kit/indexeddb` does), else an id the app keeps with the replica's data.
 * @param nodeId - the option as given.
 * @param store - the `store` option, asked for a `replicaId`.
 * @throws SyncKitError `invalid-argument` (`details.argument` `'nodeId'`) when it is missing or not
 * 1–64 characters of `A-Z a-z 0-9 . _ ~ -`.
 */
export function checkNodeIdOption(nodeId: unknown, store: unknown): void {
  if (!nodeId) {
    const id = (store as { readonly replicaId?: unknown } | null)?.replicaId
    throw new SyncKitError(
      'invalid-argument',
      `[sync-manager] option nodeId is missing: pass ${typeof id === 'string' ? `nodeId: store.replicaId ("${id}")` : 'a stable id, e.g. crypto.randomUUID() kept with the data'}`,
      { argument: 'nodeId' },
    )
  }
  assertNodeId(nodeId as string)
}
