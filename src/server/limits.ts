import { integerOption } from '../core/options.js'

/** Default {@link SyncServerLimits.maxBatchEvents}: 1000. */
export const DEFAULT_MAX_BATCH_EVENTS = 1000
/** Default {@link SyncServerLimits.maxEventBytes}: 1 MiB. */
export const DEFAULT_MAX_EVENT_BYTES: number = 1024 * 1024
/** Default {@link SyncServerLimits.maxPageBytes}: 4 MiB. */
export const DEFAULT_MAX_PAGE_BYTES: number = 4 * 1024 * 1024
/** Default {@link SyncServerLimits.pageLimit}: 500. */
export const DEFAULT_PAGE_LIMIT = 500
/** Default {@link SyncServerLimits.maxPageLimit}: 1000. */
export const DEFAULT_MAX_PAGE_LIMIT = 1000

/**
 * What one call may cost the server. Each is a positive integer, or `Infinity` for no limit (the
 * loopback hub's choice for everything but `pageLimit`).
 */
export interface SyncServerLimits {
  /**
   * Most events in one push; a larger push is refused with `payload-too-large`.
   * @defaultValue 1000 ({@link DEFAULT_MAX_BATCH_EVENTS})
   */
  readonly maxBatchEvents?: number | undefined
  /**
   * Largest single event, in bytes of its JSON (UTF-8); a push holding a larger one is refused
   * with `payload-too-large`, naming the event, and stores nothing.
   * @defaultValue 1 MiB ({@link DEFAULT_MAX_EVENT_BYTES})
   */
  readonly maxEventBytes?: number | undefined
  /**
   * Page size of a pull that names no `limit`.
   * @defaultValue 500 ({@link DEFAULT_PAGE_LIMIT})
   */
  readonly pageLimit?: number | undefined
  /**
   * Largest page a pull returns (larger limits are clamped to it), and the page size of a feed.
   * @defaultValue 1000 ({@link DEFAULT_MAX_PAGE_LIMIT})
   */
  readonly maxPageLimit?: number | undefined
  /**
   * Byte budget of one page, in bytes of the events' wire JSON: a page stops early (with
   * `hasMore`) once it would pass it, and always holds at least one event.
   * @defaultValue 4 MiB ({@link DEFAULT_MAX_PAGE_BYTES})
   */
  readonly maxPageBytes?: number | undefined
}

/** {@link SyncServerLimits} with every default filled in; `pageLimit` ≤ `maxPageLimit`. */
export type ResolvedLimits = { readonly [K in keyof SyncServerLimits]-?: number }

/**
 * Checks the limits and fills in the defaults.
 * @param limits - the limits given.
 * @param component - names the component in messages, e.g. `http-server`.
 * @returns every limit.
 * @throws SyncKitError `invalid-argument` for a limit that is neither a positive integer nor
 * `Infinity`.
 */
export function resolveLimits(
  limits: SyncServerLimits | undefined,
  component: string,
): ResolvedLimits {
  const limit = (name: keyof SyncServerLimits, fallback: number): number => {
    const value = limits?.[name]
    return value === Infinity ? value : integerOption(value, fallback, name, component)
  }
  const maxPageLimit = limit('maxPageLimit', DEFAULT_MAX_PAGE_LIMIT)
  return {
    maxBatchEvents: limit('maxBatchEvents', DEFAULT_MAX_BATCH_EVENTS),
    maxEventBytes: limit('maxEventBytes', DEFAULT_MAX_EVENT_BYTES),
    pageLimit: Math.min(limit('pageLimit', DEFAULT_PAGE_LIMIT), maxPageLimit),
    maxPageLimit,
    maxPageBytes: limit('maxPageBytes', DEFAULT_MAX_PAGE_BYTES),
  }
}
