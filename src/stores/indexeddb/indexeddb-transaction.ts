import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { toSyncKitError } from './indexeddb-errors.js'
import type { IndexedDbDurability } from './indexeddb-types.js'

/**
 * Resolves with a request's result, or rejects with its error. The failed request's `error` event
 * is not prevented, so its transaction aborts, and {@link runTransaction} reports why.
 * @param request - an IndexedDB request.
 * @returns its result.
 */
export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => {
      resolve(request.result)
    }
    request.onerror = () => {
      reject(request.error ?? new Error('request failed'))
    }
  })
}

/** What one {@link runTransaction} needs besides its body. */
export interface TransactionSettings {
  /** The store's message prefix. */
  readonly prefix: string
  /** The operation, for messages, e.g. `storeBatch`. */
  readonly what: string
  /** Durability of a `readwrite` transaction. */
  readonly durability: IndexedDbDurability
  /** Aborts the transaction (nothing is written) and rejects with `aborted`. */
  readonly signal?: AbortSignal | undefined
}

/**
 * Runs `body` in one IndexedDB transaction and resolves with its result once the transaction has
 * committed (for `readwrite`: durably, as `durability` asks), so a resolved write is a kept write.
 *
 * `body` may await requests of the transaction (the transaction stays active across those
 * awaits: their continuations run before control returns to the event loop), but nothing else.
 * When `body` throws, or `signal` fires before the commit, the transaction is aborted, nothing of
 * it is kept, and the promise rejects with that error. When the browser aborts it (quota,
 * connection closed) the promise rejects with the mapped error (see `toSyncKitError`).
 * @param db - the open connection.
 * @param stores - the object stores the transaction covers.
 * @param mode - `readonly` or `readwrite`.
 * @param settings - messages, durability and cancellation.
 * @param body - issues the requests; its result is the transaction's.
 * @returns what `body` returned, after the commit.
 * @throws SyncKitError whatever `body` throws, `aborted`, `unavailable`, `closed`, `internal`.
 */
export function runTransaction<T>(
  db: IDBDatabase,
  stores: readonly string[],
  mode: IDBTransactionMode,
  settings: TransactionSettings,
  body: (transaction: IDBTransaction) => Promise<T> | T,
): Promise<T> {
  const { prefix, what, signal } = settings
  return new Promise<T>((resolve, reject) => {
    let transaction: IDBTransaction
    try {
      transaction =
        mode === 'readwrite'
          ? db.transaction([...stores], mode, { durability: settings.durability })
          : db.transaction([...stores], mode)
    } catch (error) {
      reject(toSyncKitError(error, prefix, what))
      return
    }
    let value: T | undefined
    let bodyDone = false
    /** Why we aborted: the body threw, or the signal fired. */
    let failure: { readonly error: unknown } | undefined
    const fail = (error: unknown): void => {
      failure ??= { error }
      try {
        transaction.abort()
      } catch {
        // Already aborting (a failed request aborts it): onabort reports.
      }
    }
    const onSignal = (): void => {
      try {
        transaction.abort()
      } catch {
        // Already committing: the write is kept, so the call succeeds.
        return
      }
      failure ??= {
        error: new SyncKitError(
          'aborted',
          `${prefix} ${what} was aborted`,
          {},
          { cause: signal?.reason },
        ),
      }
    }
    signal?.addEventListener('abort', onSignal, { once: true })
    const finish = (): void => {
      signal?.removeEventListener('abort', onSignal)
    }
    transaction.oncomplete = () => {
      finish()
      if (failure !== undefined) reject(toSyncKitError(failure.error, prefix, what))
      else if (!bodyDone) reject(internalEarlyCommit(prefix, what))
      else resolve(value as T)
    }
    transaction.onabort = () => {
      finish()
      // Our own reason (an id conflict, the signal) first; else the browser's (quota, a failed
      // request), which explains the follow-up errors our body may have run into.
      const own = failure !== undefined && isSyncKitError(failure.error) ? failure.error : undefined
      reject(own ?? toSyncKitError(transaction.error ?? failure?.error ?? null, prefix, what))
    }
    let result: Promise<T> | T
    try {
      result = body(transaction)
    } catch (error) {
      fail(error)
      return
    }
    Promise.resolve(result).then(
      (v) => {
        value = v
        bodyDone = true
      },
      (error: unknown) => {
        fail(error)
      },
    )
  })
}

/** The body awaited something that was not a request, so the transaction committed under it. */
function internalEarlyCommit(prefix: string, what: string): SyncKitError {
  return new SyncKitError(
    'internal',
    `${prefix} ${what} failed: the transaction committed before the operation finished`,
    {},
  )
}
