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

/**
 * Refuses options that were renamed, so an old spelling fails loudly instead of being ignored
 * (which would silently change behaviour, e.g. a test's timers falling back to real time).
 * @param options - the options object as given (anything; non-objects are left to other checks).
 * @param renamed - old name → what to use instead, e.g. `{ setTimeout: 'timers' }`.
 * @param component - names the component, e.g. `http-client`.
 * @throws SyncKitError `invalid-argument` naming the first old option found.
 * @example
 * ```ts
 * import { refuseRenamedOptions } from 'sync-kit/adapter'
 *
 * refuseRenamedOptions({ setTimeout }, { setTimeout: 'timers' }, 'my-transport') // throws
 * ```
 */
export function refuseRenamedOptions(
  options: unknown,
  renamed: Readonly<Record<string, string>>,
  component: string,
): void {
  if (typeof options !== 'object' || options === null) return
  for (const name of Object.keys(renamed)) {
    if (name in options) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${component}] option ${name} was renamed: use ${renamed[name] ?? ''}`,
        { argument: name },
      )
    }
  }
}

/** The timer options that became one `timers` option (for {@link refuseRenamedOptions}). */
export const TIMER_RENAMES: Readonly<Record<string, string>> = {
  setTimeout: 'timers: { setTimeout, clearTimeout } (a TestClock works)',
  clearTimeout: 'timers: { setTimeout, clearTimeout } (a TestClock works)',
}
