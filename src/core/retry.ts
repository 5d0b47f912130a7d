import { backoffDelay, resolveBackoff } from './backoff.js'
import type { BackoffOptions } from './backoff.js'
import { integerOption, refuseRenamedOptions } from './options.js'

/**
 * Retry policy of the client transports (HTTP, WebSocket): the one backoff spelling of sync-kit (`initialMs`, `maxMs`,
 * full jitter) plus how many retries one call makes and how long a `Retry-After` it honours.
 * @example
 * ```ts
 * import { createHttpTransport, type RetryOptions } from 'sync-kit/http'
 *
 * const retry: RetryOptions = { retries: 8, initialMs: 500, maxMs: 60_000 }
 * const transport = createHttpTransport({ url: 'https://sync.example.com', retry })
 * ```
 */
export interface RetryOptions extends BackoffOptions {
  /**
   * Retries after the first attempt (so `retries + 1` attempts in all) of one call. A push the
   * client splits after a 413 is still one call: its parts share this budget. `0` disables
   * retrying.
   * @defaultValue 4
   */
  readonly retries?: number
  /**
   * Cap of the first backoff window, in ms; retry `n` (1 for the first) waits a random time below
   * `min(maxMs, initialMs · 2^(n−1))`.
   * @defaultValue 250
   */
  readonly initialMs?: number
  /**
   * Largest backoff window, in ms.
   * @defaultValue 10 000
   */
  readonly maxMs?: number
  /**
   * Longest `Retry-After` the client waits for, in ms; a server asking for more fails the call
   * with `unavailable` right away (the caller's own schedule retries later).
   * @defaultValue 60 000
   */
  readonly maxRetryAfterMs?: number
}

/** Retry options with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>

/**
 * The defaults of {@link RetryOptions}.
 * @example
 * ```ts
 * import { createHttpTransport, DEFAULT_RETRY } from 'sync-kit/http'
 *
 * const transport = createHttpTransport({
 *   url: 'https://sync.example.com',
 *   retry: { ...DEFAULT_RETRY, retries: DEFAULT_RETRY.retries * 2 },
 * })
 * ```
 */
export const DEFAULT_RETRY: Required<RetryOptions> = {
  retries: 4,
  initialMs: 250,
  maxMs: 10_000,
  maxRetryAfterMs: 60_000,
}

/**
 * Checks the `retry` option and fills in {@link DEFAULT_RETRY}.
 * @param retry - the option as given.
 * @param component - names the client in messages, e.g. `http-client`.
 * @returns the resolved policy.
 * @throws SyncKitError `invalid-argument` when `retries` or `maxRetryAfterMs` is not an integer
 * ≥ 0, or `initialMs` or `maxMs` is not a positive integer.
 */
export function resolveRetry(
  retry: RetryOptions | undefined,
  component: string,
): ResolvedRetryOptions {
  refuseRenamedOptions(
    retry,
    { baseDelayMs: 'retry.initialMs', maxDelayMs: 'retry.maxMs' },
    component,
  )
  const backoff = resolveBackoff(retry, DEFAULT_RETRY, 'retry', component)
  return {
    retries: integerOption(retry?.retries, DEFAULT_RETRY.retries, 'retry.retries', component, 0),
    initialMs: backoff.initialMs,
    maxMs: backoff.maxMs,
    maxRetryAfterMs: integerOption(
      retry?.maxRetryAfterMs,
      DEFAULT_RETRY.maxRetryAfterMs,
      'retry.maxRetryAfterMs',
      component,
      0,
    ),
  }
}

/**
 * The retries one call has used: shared by every request the call makes (the parts of a split
 * push), so the call as a whole retries at most `retries` times.
 */
export interface RetryBudget {
  /** Retries made so far. */
  used: number
}

/**
 * The wait before retry `retry` (1 for the first) of a transient failure: full jitter, and at
 * least the server's `Retry-After` (capped at `maxRetryAfterMs`).
 * @param retry - 1 for the first retry, 2 for the second, …
 * @param retryAfterMs - the server's `Retry-After`, in ms, if it sent one.
 * @param policy - the resolved `retry` option.
 * @param random - a uniform random number in [0, 1), for jitter.
 * @returns the wait in ms.
 */
export function retryWait(
  retry: number,
  retryAfterMs: number | undefined,
  policy: ResolvedRetryOptions,
  random: () => number,
): number {
  return Math.max(
    backoffDelay(retry, policy, random),
    Math.min(retryAfterMs ?? 0, policy.maxRetryAfterMs),
  )
}

/**
 * The one retry decision of a client transport's calls (and of connecting a live stream): whether a
 * transient failure is retried within the call's budget, and after how long.
 * @param budget - the call's retries so far; counted up when a retry is granted.
 * @param retryAfterMs - the server's `Retry-After`, in ms, if it sent one.
 * @param policy - the resolved `retry` option.
 * @param random - a uniform random number in [0, 1), for jitter.
 * @returns the wait in ms, or `undefined` to give up: the budget is spent, or the server asks for
 * longer than `maxRetryAfterMs`.
 */
export function nextRetryWait(
  budget: RetryBudget,
  retryAfterMs: number | undefined,
  policy: ResolvedRetryOptions,
  random: () => number,
): number | undefined {
  if (budget.used >= policy.retries) return undefined
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) return undefined
  budget.used++
  return retryWait(budget.used, retryAfterMs, policy, random)
}
