import { SyncKitError } from '../../errors/sync-kit-error.js'
import { POSTGRES_PREFIX, isUnavailable, toSyncKitError } from './postgres-errors.js'
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from './postgres-types.js'

/** The connection of a running transaction, as the work inside it sees it. */
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

export interface Transaction {
  /**
   * Runs a statement in the transaction; rejects with `aborted` instead when the caller's signal
   * fired since the last statement (the transaction is then rolled back).
   * @param text - the SQL.
   * @param values - the values of `$1`, `$2`, ….
   * @returns the result.
   */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>
  /**
   * Closes the connection when the transaction ends instead of returning it to the pool: for work
   * that may leave session state behind when it fails halfway (e.g. a session-level lock).
   * @param discard - `false` takes it back once that work is done. @defaultValue true
   */
  discardConnection(discard?: boolean): void
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
 * Runs `body` in one transaction on a connection of its own, commits when it returns and rolls
 * back when it throws.
 *
 * Cancellation: when the signal fires before `COMMIT` is sent, the call rejects with `aborted` at
 * once, and the transaction is rolled back at its next statement (a statement already running is
 * not interrupted, so its connection returns to the pool when it ends). Once `COMMIT` is sent the
 * signal is ignored: the caller learns the true outcome. A `COMMIT` that fails because the
 * connection broke leaves the outcome unknown and is reported as `unavailable`: retrying is safe
 * because stores are idempotent by event id.
 * @param pool - the pool.
 * @param what - the operation, for messages.
 * @param signal - the caller's signal.
 * @param begin - the statements that open the transaction (no parameters), e.g. `BEGIN` and a
 * lock.
 * @param body - the work.
 * @returns what `body` returned.
 * @throws SyncKitError `aborted`, what `body` threw, or the mapped driver error.
 */
export function runTransaction<T>(
  pool: PostgresPool,
  what: string,
  signal: AbortSignal | undefined,
  begin: string,
  body: (tx: Transaction) => Promise<T>,
): Promise<T> {
  let committing = false
  let aborted = signal?.aborted === true
  const checkAborted = (): void => {
    if (aborted) throw abortError(signal, what)
  }
  const work = (async (): Promise<T> => {
    checkAborted()
    const { client, release } = await checkOut(pool, what)
    let discard: boolean | Error = false
    let open = false
    try {
      checkAborted()
      open = true
      await client.query(begin)
      const tx: Transaction = {
        query: async (text, values) => {
          checkAborted()
          return client.query(text, values)
        },
        discardConnection: (value = true) => {
          discard = value
        },
      }
      const result = await body(tx)
      checkAborted()
      committing = true
      open = false
      await client.query('COMMIT')
      return result
    } catch (error) {
      if (open) {
        try {
          await client.query('ROLLBACK')
        } catch (rollbackError) {
          discard = rollbackError instanceof Error ? rollbackError : true
        }
      }
      if (isUnavailable(error)) discard = true
      throw toSyncKitError(error, what)
    } finally {
      release(discard)
    }
  })()
  if (signal === undefined) return work
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      if (committing) return
      aborted = true
      reject(abortError(signal, what))
    }
    if (!aborted) signal.addEventListener('abort', onAbort, { once: true })
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

function abortError(signal: AbortSignal | undefined, what: string): SyncKitError<'aborted'> {
  return new SyncKitError(
    'aborted',
    `${POSTGRES_PREFIX} ${what} was aborted`,
    {},
    {
      cause: signal?.reason,
    },
  )
}
