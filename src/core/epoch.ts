import { SyncKitError } from '../errors/sync-kit-error.js'
import { describe } from './json-value.js'
import type { CheckpointKey } from '../types/index.js'

/**
 * The checkpoint `remote` under which a server keeps its epoch in a store that has no place of its
 * own for it (the memory store, and the server core's fallback for stores without
 * `loadOrCreateEpoch`). Reserved: do not use it for your own checkpoints.
 */
export const SERVER_EPOCH_CHECKPOINT_REMOTE = 'sync-kit:server'

/** The full checkpoint key of {@link SERVER_EPOCH_CHECKPOINT_REMOTE}. */
export const SERVER_EPOCH_CHECKPOINT_KEY: CheckpointKey = {
  remote: SERVER_EPOCH_CHECKPOINT_REMOTE,
  direction: 'pull',
}

/**
 * Checks the candidate given to `EventStore.loadOrCreateEpoch` (and a server's `epoch` option).
 * @param candidate - the value given.
 * @param component - names the caller in the message, e.g. `memory` or `sqlite`.
 * @returns the candidate, a non-empty string.
 * @throws SyncKitError `invalid-argument` for anything else.
 */
export function checkEpoch(candidate: unknown, component: string): string {
  if (typeof candidate !== 'string' || candidate === '') {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] an epoch must be a non-empty string, got ${describe(candidate)}`,
      { argument: 'epoch' },
    )
  }
  return candidate
}
