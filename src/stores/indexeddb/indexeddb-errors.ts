import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'

/**
 * How one store names itself in messages (`[sync-kit] [indexeddb:<name>] …`): the database name,
 * cut at 64 characters.
 * @param name - the database name.
 * @returns `indexeddb:<name>`.
 */
export function indexedDbComponent(name: string): string {
  return `indexeddb:${name.length > 64 ? `${name.slice(0, 64)}…` : name}`
}

/**
 * The name of a `DOMException` (or of any error), or `undefined`.
 * @param error - what was thrown, or a transaction's `error`.
 * @returns e.g. `QuotaExceededError`.
 */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const name = (error as { name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}

/**
 * Turns what IndexedDB threw, or the `error` of an aborted transaction, into a `SyncKitError`:
 * sync-kit errors pass through; a used-up quota (`QuotaExceededError`), a transaction the browser
 * aborted (`AbortError`, or an abort without error) and a failing storage backend
 * (`UnknownError`) become `unavailable` (transient: nothing was written, retry); a connection the
 * browser closed (`InvalidStateError`) becomes `closed`; anything else `internal`, with the
 * original error as `cause`.
 * @param error - what was thrown (or `null` for an abort without error).
 * @param prefix - the store's message prefix.
 * @param what - the operation, e.g. `storeBatch`.
 * @returns the error to throw.
 */
export function toSyncKitError(error: unknown, prefix: string, what: string): SyncKitError {
  if (isSyncKitError(error)) return error
  const name = error === null ? 'AbortError' : errorName(error)
  const message = error instanceof Error ? error.message : error === null ? '' : String(error)
  const detail = `${name ?? 'Error'}${message === '' ? '' : `: ${message}`}`
  const cause = error === null ? {} : { cause: error }
  switch (name) {
    case 'QuotaExceededError':
      return new SyncKitError(
        'unavailable',
        `${prefix} ${what} failed: the browser's storage quota for this site is used up (${detail}); nothing was written. Free space (delete data this app no longer needs) or ask for persistent storage with navigator.storage.persist(), then retry`,
        {},
        cause,
      )
    case 'AbortError':
      return new SyncKitError(
        'unavailable',
        `${prefix} ${what} failed: the browser aborted the IndexedDB transaction (${error === null ? 'no error given' : detail}); nothing was written, retry`,
        {},
        cause,
      )
    case 'UnknownError':
      return new SyncKitError(
        'unavailable',
        `${prefix} ${what} failed: the browser's IndexedDB backend failed (${detail}), often a disk or storage problem; nothing was written, retry, and clear the site's data if it keeps failing`,
        {},
        cause,
      )
    case 'InvalidStateError':
      return new SyncKitError(
        'closed',
        `${prefix} ${what} failed: the database connection is closed (${detail}); open the store again`,
        {},
        cause,
      )
    default:
      return new SyncKitError('internal', `${prefix} ${what} failed: ${detail}`, {}, cause)
  }
}
