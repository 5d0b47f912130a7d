/**
 * Lets a caller stop waiting for a shared sync run: the run goes on (other callers wait for it);
 * only this caller's promise rejects with `aborted`.
 *
 * @module
 */
import { SyncKitError } from '../errors/sync-kit-error.js'

/**
 * Races a promise against a signal.
 * @param promise - the shared run.
 * @param signal - the caller's signal, if any.
 * @returns the run's result, unless the signal aborts first.
 * @throws SyncKitError `aborted` when the signal aborts first.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(
        new SyncKitError(
          'aborted',
          '[sync-manager] sync was aborted',
          {},
          { cause: signal.reason },
        ),
      )
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}
