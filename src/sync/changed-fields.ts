import { jsonEqual } from '../core/event-validation.js'
import { isJsonObject } from '../projections/json-order.js'

/**
 * Top-level keys of two event payloads whose values differ (deep, JSON semantics), sorted by code
 * unit order. Empty when both are equal, or when either is not a plain object.
 *
 * @param a - one payload.
 * @param b - the other payload.
 * @returns the differing keys.
 * @example
 * ```ts
 * import { changedFields } from 'sync-kit/adapter'
 *
 * changedFields({ title: 'a', done: false }, { title: 'b', done: false }) // ['title']
 * ```
 */
export function changedFields(a: unknown, b: unknown): string[] {
  if (!isJsonObject(a) || !isJsonObject(b)) return []
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  const out: string[] = []
  for (const key of keys) {
    const inA = Object.prototype.hasOwnProperty.call(a, key)
    const inB = Object.prototype.hasOwnProperty.call(b, key)
    if (inA !== inB || !jsonEqual(a[key], b[key])) out.push(key)
  }
  return out.sort()
}
