import type { SignalOptions } from '../types/index.js'
import { SyncKitError } from './sync-kit-error.js'

/** The `aborted` error of a call named `what`, with the signal's reason as `cause`. */
function abortedError(signal: AbortSignal, what: string): SyncKitError<'aborted'> {
  return new SyncKitError('aborted', `${what} was aborted`, {}, { cause: signal.reason })
}

/**
 * The options of a call that takes only a signal: `{ signal }`, or `{}` without one (the property
 * left out rather than set to `undefined`, as exact optional properties want).
 * @param signal - the caller's signal, if any.
 * @returns the options.
 */
export function signalOptions(signal: AbortSignal | undefined): SignalOptions {
  return signal === undefined ? {} : { signal }
}

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
  if (signal?.aborted === true) throw abortedError(signal, what)
}

/**
 * Settles like `promise`, or rejects as soon as `signal` aborts; the work goes on (others may wait
 * for it), only this wait ends. Used by the `SyncManager` (a caller leaving a shared sync run) and
 * the HTTP client (headers that never come).
 * @param promise - the awaited work.
 * @param signal - cuts the wait short; without one the promise is returned as it is.
 * @param what - names the call: the rejection is then `aborted` (`<what> was aborted`, the reason
 * as `cause`); without it, the signal's reason itself.
 * @returns what `promise` resolves to.
 * @throws SyncKitError `aborted` (with `what`), else the signal's reason.
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what?: string,
): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(what === undefined ? (signal.reason as Error) : abortedError(signal, what))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error as Error)
      },
    )
  })
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
      reject(abortedError(signal, 'wait'))
      return
    }
    const onAbort = (): void => {
      clearTimer(handle)
      reject(abortedError(signal as AbortSignal, 'wait'))
    }
    const handle = setTimer(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
