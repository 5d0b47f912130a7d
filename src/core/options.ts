import { SyncKitError } from '../errors/sync-kit-error.js'

/**
 * Checks a whole-number option: a safe integer of at least `min`.
 * @param value - the option as given (`undefined` takes `fallback`).
 * @param fallback - the default.
 * @param name - the option's name in messages and `details.argument`, e.g. `backoff.maxMs`.
 * @param component - names the component, e.g. `sync-manager`.
 * @param min - the smallest accepted value. @defaultValue 1
 * @returns the value, or `fallback` when `value` is `undefined`.
 * @throws SyncKitError `invalid-argument` for anything else.
 * @example
 * ```ts
 * import { integerOption } from 'sync-kit/adapter'
 *
 * const pageLimit = integerOption(options.pageLimit, 500, 'pageLimit', 'my-transport')
 * ```
 */
export function integerOption(
  value: unknown,
  fallback: number,
  name: string,
  component: string,
  min = 1,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const want = min === 1 ? 'a positive integer' : `an integer ≥ ${min}`
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] option ${name} must be ${want}, got ${String(value)}`,
      { argument: name },
    )
  }
  return value
}
