import type { Clock } from '../../types/index.js'

/**
 * Retry policy of the HTTP client.
 * @example
 * ```ts
 * import { createHttpTransport, type RetryOptions } from 'sync-kit/http'
 *
 * const retry: RetryOptions = { retries: 8, baseDelayMs: 500, maxDelayMs: 60_000 }
 * const transport = createHttpTransport({ url: 'https://sync.example.com', retry })
 * ```
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt (so `retries + 1` attempts in all). `0` disables retrying.
   * @defaultValue 4
   */
  readonly retries?: number
  /**
   * Cap of the first backoff window, in ms; window `n` is `baseDelayMs * 2^n`.
   * @defaultValue 250
   */
  readonly baseDelayMs?: number
  /**
   * Largest backoff window, in ms.
   * @defaultValue 10 000
   */
  readonly maxDelayMs?: number
  /**
   * Longest `Retry-After` the client waits for; a server asking for more fails the call with
   * `unavailable` right away (the caller's own schedule retries later).
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
export const DEFAULT_RETRY: ResolvedRetryOptions = {
  retries: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
}

/**
 * Exponential backoff with full jitter: a uniformly random wait in `[0, min(max, base·2^attempt))`.
 * Source: Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015.
 * @param attempt - 0 for the first retry.
 * @param policy - base and cap.
 * @param random - a uniform random number in [0, 1).
 * @returns the wait in ms.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<ResolvedRetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * window)
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * @param value - the header value, or null.
 * @param clock - for HTTP dates.
 * @returns the wait in ms, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, clock: Clock): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - clock.now())
}
