import type { Clock } from '../../types/index.js'

export { DEFAULT_RETRY, nextRetryWait, resolveRetry, retryWait } from '../../core/retry.js'
export type { ResolvedRetryOptions, RetryBudget, RetryOptions } from '../../core/retry.js'

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
