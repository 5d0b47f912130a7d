import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'

/** The message prefix of every error the SQLite store throws. */
export const SQLITE_PREFIX = '[sync-kit] [sqlite]'

/**
 * SQLite result codes (primary codes; extended codes such as `SQLITE_IOERR_FSYNC` or
 * `SQLITE_READONLY_DBMOVED` start with them) that say the database cannot be used right now for a
 * reason outside the caller's request: a client cannot fix it, an operator can, and the same call
 * succeeds once they did. Each becomes `unavailable` with what to do.
 */
const UNAVAILABLE_CONDITIONS: readonly (readonly [string, string])[] = [
  [
    'SQLITE_BUSY',
    'the database is locked by another connection; retry later, or raise busyTimeoutMs',
  ],
  ['SQLITE_LOCKED', 'a table is locked by another statement of this connection; retry later'],
  [
    'SQLITE_FULL',
    'the disk holding the database is full; free space (writes succeed again once there is room)',
  ],
  [
    'SQLITE_READONLY',
    'cannot write to the database: the file, its directory or its filesystem is read-only; a server needs write access to both',
  ],
  [
    'SQLITE_IOERR',
    'the operating system reported an I/O error on the database file; check the disk and its filesystem',
  ],
  [
    'SQLITE_CANTOPEN',
    'the database (or its -wal/-shm file) cannot be opened; check permissions and free file descriptors',
  ],
  ['SQLITE_NOMEM', 'SQLite ran out of memory'],
  ['SQLITE_PROTOCOL', 'the WAL locking protocol failed (a race with another connection); retry'],
]

/**
 * The condition of a SQLite error that makes it `unavailable`, if it is one.
 * @param code - the error's `code` (`SQLITE_…`).
 * @returns the text naming the cause and what to do, or `undefined`.
 */
function unavailableCondition(code: string): string | undefined {
  for (const [prefix, text] of UNAVAILABLE_CONDITIONS) {
    if (code === prefix || code.startsWith(`${prefix}_`)) return text
  }
  return undefined
}

/**
 * Turns whatever a SQLite call threw into a `SyncKitError`: sync-kit errors pass through; the
 * failures a caller cannot fix but an operator can — the database locked past the busy timeout
 * (`SQLITE_BUSY*`), a full disk (`SQLITE_FULL`), a read-only file or filesystem
 * (`SQLITE_READONLY*`), I/O errors (`SQLITE_IOERR*`), files that cannot be opened, no memory —
 * become `unavailable` (transient: the same call succeeds once the cause is gone, no restart
 * needed) with a message naming the cause and the SQLite code, never SQL; anything else becomes
 * `internal`. The original error is the `cause` either way.
 * @param error - what was thrown.
 * @param what - the operation, for the message (e.g. `storeBatch`).
 * @returns the error to throw.
 */
export function toSyncKitError(error: unknown, what: string): SyncKitError {
  if (isSyncKitError(error)) return error
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  const condition = typeof code === 'string' ? unavailableCondition(code) : undefined
  if (condition !== undefined) {
    return new SyncKitError(
      'unavailable',
      `${SQLITE_PREFIX} ${what} failed (${String(code)}): ${condition}`,
      {},
      { cause: error },
    )
  }
  const message = error instanceof Error ? error.message : String(error)
  return new SyncKitError(
    'internal',
    `${SQLITE_PREFIX} ${what} failed: ${typeof code === 'string' ? `${code}: ` : ''}${message}`,
    {},
    { cause: error },
  )
}
