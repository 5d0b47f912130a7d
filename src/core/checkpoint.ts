import { SyncKitError } from '../errors/sync-kit-error.js'
import { describe } from './json-value.js'
import type { Checkpoint, CheckpointKey, StoreBatchOptions } from '../types/index.js'

/**
 * Checks a checkpoint key and copies it (only `remote` and `direction`). The one checkpoint
 * validation of sync-kit: every store calls it, so a bad key fails the same way everywhere.
 * @param key - the key as given.
 * @param component - names the store, e.g. `memory-store`.
 * @returns a plain copy.
 * @throws SyncKitError `invalid-argument` naming `key`, `key.remote` or `key.direction`.
 * @example
 * ```ts
 * import { checkCheckpointKey } from 'sync-kit/adapter'
 *
 * const { remote, direction } = checkCheckpointKey(key, 'my-store')
 * ```
 */
export function checkCheckpointKey(key: unknown, component: string): CheckpointKey {
  if (typeof key !== 'object' || key === null) {
    throw invalid(
      component,
      'key',
      `a checkpoint key must be { remote, direction }, got ${describe(key)}`,
    )
  }
  const { remote, direction } = key as { remote?: unknown; direction?: unknown }
  if (typeof remote !== 'string' || remote === '') {
    throw invalid(
      component,
      'key.remote',
      `a checkpoint key needs a non-empty remote, got ${describe(remote)}`,
    )
  }
  if (direction !== 'push' && direction !== 'pull') {
    throw invalid(
      component,
      'key.direction',
      `a checkpoint direction is 'push' or 'pull', got ${describe(direction)}`,
    )
  }
  return { remote, direction }
}

/**
 * Checks a checkpoint value and copies it (only `version` and `epoch`).
 * @param value - the checkpoint as given.
 * @param component - names the store.
 * @returns a plain copy.
 * @throws SyncKitError `invalid-argument` naming `value`, `value.version` or `value.epoch`.
 * @example
 * ```ts
 * import { checkCheckpointValue } from 'sync-kit/adapter'
 *
 * const checkpoint = Object.freeze(checkCheckpointValue(value, 'my-store'))
 * ```
 */
export function checkCheckpointValue(value: unknown, component: string): Checkpoint {
  if (typeof value !== 'object' || value === null) {
    throw invalid(
      component,
      'value',
      `a checkpoint must be { version, epoch? }, got ${describe(value)}`,
    )
  }
  const { version, epoch } = value as { version?: unknown; epoch?: unknown }
  if (typeof version !== 'string' || version === '') {
    throw invalid(
      component,
      'value.version',
      `a checkpoint needs a non-empty version string (Version.toString()), got ${describe(version)}`,
    )
  }
  if (epoch !== undefined && typeof epoch !== 'string') {
    throw invalid(
      component,
      'value.epoch',
      `a checkpoint epoch must be a string, got ${describe(epoch)}`,
    )
  }
  return epoch === undefined ? { version } : { version, epoch }
}

/**
 * Checks the `checkpoint` option of `storeBatch`.
 * @param checkpoint - the option as given.
 * @param component - names the store.
 * @returns checked copies of key and value, or `undefined` when absent.
 * @throws SyncKitError `invalid-argument` naming `checkpoint` or the failing part.
 * @example
 * ```ts
 * import { checkBatchCheckpoint } from 'sync-kit/adapter'
 *
 * // In storeBatch, before changing anything:
 * const checkpoint = checkBatchCheckpoint(options?.checkpoint, 'my-store')
 * ```
 */
export function checkBatchCheckpoint(
  checkpoint: StoreBatchOptions['checkpoint'] | undefined,
  component: string,
):
  | {
      /** The checked key. */
      readonly key: CheckpointKey
      /** The checked value. */
      readonly value: Checkpoint
    }
  | undefined {
  if (checkpoint === undefined) return undefined
  if (typeof checkpoint !== 'object' || checkpoint === null) {
    throw invalid(
      component,
      'checkpoint',
      `the checkpoint option must be { key, value }, got ${describe(checkpoint)}`,
    )
  }
  return {
    key: checkCheckpointKey(checkpoint.key, component),
    value: checkCheckpointValue(checkpoint.value, component),
  }
}

function invalid(
  component: string,
  argument: string,
  problem: string,
): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `[sync-kit] [${component}] ${problem}`, { argument })
}
