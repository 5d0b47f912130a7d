import { integerOption } from './options.js'

/**
 * Retry delays: exponential backoff with full jitter. Retry `n` (1 for the first) waits a uniformly
 * random time in `[0, min(maxMs, initialMs · 2^(n−1)))`. The one backoff spelling of sync-kit: the
 * `SyncManager`'s `backoff` option and the HTTP client's `retry` option both use these names.
 *
 * Source: Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015.
 */
export interface BackoffOptions {
  /** Cap of the first retry's window, in ms. A positive integer. */
  readonly initialMs?: number
  /** Largest window, in ms. A positive integer. */
  readonly maxMs?: number
}

/** {@link BackoffOptions} with every value filled in. */
export interface ResolvedBackoff {
  /** Cap of the first retry's window, in ms. */
  readonly initialMs: number
  /** Largest window, in ms. */
  readonly maxMs: number
}

/**
 * Checks backoff options and fills in defaults.
 * @param options - the options as given.
 * @param defaults - the component's defaults.
 * @param name - the option's name in messages, e.g. `backoff` or `retry`.
 * @param component - names the component, e.g. `sync-manager`.
 * @returns the resolved backoff.
 * @throws SyncKitError `invalid-argument` for a value that is not a positive integer.
 * @example
 * ```ts
 * import { resolveBackoff } from 'sync-kit/adapter'
 *
 * const backoff = resolveBackoff(options.retry, { initialMs: 250, maxMs: 30_000 }, 'retry', 'ws')
 * ```
 */
export function resolveBackoff(
  options: BackoffOptions | undefined,
  defaults: ResolvedBackoff,
  name: string,
  component: string,
): ResolvedBackoff {
  return {
    initialMs: integerOption(
      options?.initialMs,
      defaults.initialMs,
      `${name}.initialMs`,
      component,
    ),
    maxMs: integerOption(options?.maxMs, defaults.maxMs, `${name}.maxMs`, component),
  }
}

/**
 * The wait before retry `attempt` (1 for the first), by full jitter.
 * @param attempt - 1 for the first retry, 2 for the second, …
 * @param backoff - the window's first cap and largest cap, in ms.
 * @param random - a uniform random number in [0, 1).
 * @returns the wait in whole ms, in `[0, min(maxMs, initialMs · 2^(attempt−1)))`.
 * @example
 * ```ts
 * import { backoffDelay } from 'sync-kit/adapter'
 *
 * const waitMs = backoffDelay(attempt, { initialMs: 250, maxMs: 30_000 }, Math.random)
 * ```
 */
export function backoffDelay(
  attempt: number,
  backoff: ResolvedBackoff,
  random: () => number,
): number {
  const window = Math.min(
    backoff.maxMs,
    backoff.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30),
  )
  return Math.floor(random() * window)
}
