import { SyncKitError } from '../../errors/sync-kit-error.js'
import { POSTGRES_PREFIX, toSyncKitError } from './postgres-errors.js'
import type { PostgresPool, PostgresPoolClient } from './postgres-types.js'

/**
 * Checks a connection out of the pool, listening for its `'error'` event while it is out (see
 * {@link PostgresPoolClient.on}); `release` returns it, or closes it after a broken connection.
 * @param pool - the pool.
 * @param what - the operation, for messages.
 * @returns the client and its release function.
 * @throws SyncKitError `unavailable` (or as `toSyncKitError`) when no connection can be made.
 */
export async function checkOut(
  pool: PostgresPool,
  what: string,
): Promise<{ client: PostgresPoolClient; release: (discard: boolean | Error) => void }> {
  let client: PostgresPoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw toSyncKitError(error, what)
  }
  let broken: Error | undefined
  const onError = (error: Error): void => {
    broken = error
  }
  client.on?.('error', onError)
  return {
    client,
    release: (discard) => {
      client.removeListener?.('error', onError)
      client.release(broken ?? discard)
    },
  }
}

/**
 * Rejects with `aborted` as soon as the signal fires, otherwise settles as `work` does. What
 * `work` does after an abort is ignored: use it for reads, which change nothing.
 * @param work - the running call.
 * @param signal - the caller's signal.
 * @param what - the operation, for the message.
 * @returns what `work` resolves to.
 * @throws SyncKitError `aborted`, or what `work` rejects with.
 */
export function raceAbort<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (signal === undefined) return work
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, what))
    if (signal.aborted) onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

/**
 * The `aborted` error of a PostgreSQL store call.
 * @param signal - the signal that fired (its reason becomes the `cause`).
 * @param what - the operation, for the message.
 * @returns the error.
 */
export function abortError(signal: AbortSignal | undefined, what: string): SyncKitError<'aborted'> {
  return new SyncKitError(
    'aborted',
    `${POSTGRES_PREFIX} ${what} was aborted`,
    {},
    {
      cause: signal?.reason,
    },
  )
}
