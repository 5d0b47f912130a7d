import { SyncKitError } from './sync-kit-error.js'

/**
 * Throws `aborted` when the signal has fired.
 * @param signal - the caller's signal, if any.
 * @param what - names the call for the message, e.g. `memory store load`.
 * @throws SyncKitError `aborted`, with the signal's reason as `cause`.
 * @example
 * ```ts
 * import { throwIfAborted } from 'sync-kit/adapter'
 *
 * throwIfAborted(options?.signal, '[my-store] load') // "[sync-kit] [my-store] load was aborted"
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) {
    throw new SyncKitError('aborted', `${what} was aborted`, {}, { cause: signal.reason })
  }
}

/**
 * Resolves after `ms` milliseconds of the given timer, rejecting with `aborted` if the signal fires
 * first.
 * @param ms - delay in milliseconds.
 * @param signal - optional cancellation.
 * @param setTimer - the timer function (injectable for tests).
 * @throws SyncKitError `aborted`.
 */
export function delay(
  ms: number,
  signal?: AbortSignal,
  setTimer: (fn: () => void, ms: number) => unknown = setTimeout,
  clearTimer: (handle: unknown) => void = (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new SyncKitError('aborted', 'wait was aborted', {}, { cause: signal.reason }))
      return
    }
    const onAbort = (): void => {
      clearTimer(handle)
      reject(new SyncKitError('aborted', 'wait was aborted', {}, { cause: signal?.reason }))
    }
    const handle = setTimer(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
