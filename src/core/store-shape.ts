import type { EventStore } from '../types/index.js'

const STORE_METHODS = [
  'store',
  'load',
  'loadByAggregate',
  'latestVersion',
  'parseVersion',
  'getCheckpoint',
  'setCheckpoint',
  'close',
] as const

/**
 * Tells whether a value has the shape of an `EventStore`: every required method is a function
 * (the optional capabilities are not looked at). For option checks, so a missing or misspelt
 * `store` fails where it is given instead of later.
 * @param value - anything.
 * @returns true when every required `EventStore` method is there.
 * @example
 * ```ts
 * import { isEventStore } from 'sync-kit/adapter'
 * import { createMemoryStore } from 'sync-kit'
 *
 * isEventStore(createMemoryStore()) // true
 * isEventStore({ store() {} }) // false
 * ```
 */
export function isEventStore(value: unknown): value is EventStore {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return STORE_METHODS.every((method) => typeof candidate[method] === 'function')
}
