import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Clock, Timers } from '../types/index.js'

/** The global `setTimeout`/`clearTimeout`, as {@link Timers}. */
export const GLOBAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * The wall clock, `Date.now()`, as a {@link Clock}: the default of a component's `clock` option.
 * @example
 * ```ts
 * import { SYSTEM_CLOCK } from 'sync-kit/adapter'
 *
 * const clock = options.clock ?? SYSTEM_CLOCK
 * ```
 */
export const SYSTEM_CLOCK: Clock = { now: () => Date.now() }

/**
 * Picks the timers a component uses: the `timers` option when given; else the clock's own
 * `setTimeout`/`clearTimeout` when it has both (a `TestClock` does), so that one `clock: testClock`
 * drives time and timers together; else the globals.
 * @param timers - the component's `timers` option.
 * @param clock - the component's `clock` option.
 * @param component - names the component in the error, e.g. `sync-manager`.
 * @returns the timers, with `this` bound for a clock's methods.
 * @throws SyncKitError `invalid-argument` when `timers` lacks either function.
 * @example
 * ```ts
 * import { resolveTimers } from 'sync-kit/adapter'
 *
 * const timers = resolveTimers(options.timers, options.clock, 'my-transport')
 * const handle = timers.setTimeout(poll, 1_000)
 * ```
 */
export function resolveTimers(
  timers: Timers | undefined,
  clock: (Clock & Partial<Timers>) | undefined,
  component: string,
): Timers {
  if (timers !== undefined) {
    if (
      typeof timers !== 'object' ||
      timers === null ||
      typeof timers.setTimeout !== 'function' ||
      typeof timers.clearTimeout !== 'function'
    ) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${component}] option timers must be { setTimeout, clearTimeout }, e.g. a TestClock`,
        { argument: 'timers' },
      )
    }
    return timers
  }
  const set = clock?.setTimeout
  const clear = clock?.clearTimeout
  if (clock !== undefined && typeof set === 'function' && typeof clear === 'function') {
    return {
      setTimeout: (fn, ms) => set.call(clock, fn, ms),
      clearTimeout: (handle) => {
        clear.call(clock, handle)
      },
    }
  }
  return GLOBAL_TIMERS
}
