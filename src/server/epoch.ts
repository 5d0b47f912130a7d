import { SERVER_EPOCH_CHECKPOINT_KEY, checkEpoch } from '../core/epoch.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { EventStore, IdGenerator } from '../types/index.js'

/**
 * Reads or creates the epoch of a store's log: through the store's `loadOrCreateEpoch` when it has
 * one (atomic, so servers starting together on one database agree), else kept in the checkpoint
 * `{ remote: 'sync-kit:server', direction: 'pull' }` (read, write, read back: right for one server
 * process, racy for several).
 * @param store - the log.
 * @param generate - makes a candidate for a store that has no epoch yet.
 * @param component - names the component in messages.
 * @returns the epoch.
 * @throws SyncKitError whatever the store throws; `internal` when it did not keep the epoch.
 */
export async function loadOrCreateEpoch(
  store: EventStore,
  generate: IdGenerator,
  component: string,
): Promise<string> {
  if (store.loadOrCreateEpoch !== undefined) return store.loadOrCreateEpoch(generate())
  const existing = await store.getCheckpoint(SERVER_EPOCH_CHECKPOINT_KEY)
  if (existing?.epoch !== undefined && existing.epoch !== '') return existing.epoch
  await store.setCheckpoint(SERVER_EPOCH_CHECKPOINT_KEY, { version: '0', epoch: generate() })
  // Read back, so that a server whose write was overtaken takes the later one. This narrows the
  // race between processes starting on one empty store but cannot close it: a store that can
  // serve several servers implements `loadOrCreateEpoch`.
  const written = await store.getCheckpoint(SERVER_EPOCH_CHECKPOINT_KEY)
  if (written?.epoch === undefined || written.epoch === '') {
    throw new SyncKitError(
      'internal',
      `[sync-kit] [${component}] the store did not keep the epoch checkpoint`,
      {},
    )
  }
  return written.epoch
}

/**
 * Gives a store's log a new epoch (for a database restored from a backup; see
 * `EventStore.renewEpoch`): through the store's `renewEpoch` when it has one, else by replacing
 * the epoch checkpoint `{ remote: 'sync-kit:server', direction: 'pull' }` that
 * {@link loadOrCreateEpoch} falls back to. Servers read the epoch once, at start: renew it while
 * none runs on the store.
 * @param store - the log.
 * @param candidate - the new epoch; non-empty.
 * @param component - names the component in messages.
 * @returns the new epoch.
 * @throws SyncKitError `invalid-argument` (empty candidate), and whatever the store throws
 * (`unavailable` when it cannot be written).
 */
export async function renewEpoch(
  store: EventStore,
  candidate: string,
  component: string,
): Promise<string> {
  const epoch = checkEpoch(candidate, component)
  if (store.renewEpoch !== undefined) return store.renewEpoch(epoch)
  await store.setCheckpoint(SERVER_EPOCH_CHECKPOINT_KEY, { version: '0', epoch })
  return epoch
}
