import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'

/** The message prefix of every error the SQLite store throws. */
export const SQLITE_PREFIX = '[sync-kit] [sqlite]'

/**
 * Turns whatever a SQLite call threw into a `SyncKitError`: sync-kit errors pass through,
 * `SQLITE_BUSY*` becomes `unavailable` (transient: another connection held the lock for longer
 * than the busy timeout), anything else becomes `internal` with the original error as `cause`.
 * @param error - what was thrown.
 * @param what - the operation, for the message (e.g. `storeBatch`).
 * @returns the error to throw.
 */
export function toSyncKitError(error: unknown, what: string): SyncKitError {
  if (isSyncKitError(error)) return error
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  const message = error instanceof Error ? error.message : String(error)
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) {
    return new SyncKitError(
      'unavailable',
      `${SQLITE_PREFIX} ${what} failed: the database is locked by another connection (${code}); retry later, or raise busyTimeoutMs`,
      {},
      { cause: error },
    )
  }
  return new SyncKitError(
    'internal',
    `${SQLITE_PREFIX} ${what} failed: ${typeof code === 'string' ? `${code}: ` : ''}${message}`,
    {},
    { cause: error },
  )
}
