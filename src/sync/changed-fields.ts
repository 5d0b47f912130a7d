/**
 * Top-level keys of two event payloads whose values differ (deep, JSON semantics), sorted by code
 * unit order. Empty when both are equal, or when either is not a plain object.
 *
 * @param a - one payload.
 * @param b - the other payload.
 * @returns the differing keys.
 * @example
 * ```ts
 * import { changedFields } from 'sync-kit'
 *
 * changedFields({ title: 'a', done: false }, { title: 'b', done: false }) // ['title']
 * ```
 */
export function changedFields(a: unknown, b: unknown): string[] {
  if (!isPlainObject(a) || !isPlainObject(b)) return []
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  const out: string[] = []
  for (const key of keys) {
    const inA = Object.prototype.hasOwnProperty.call(a, key)
    const inB = Object.prototype.hasOwnProperty.call(b, key)
    if (inA !== inB || !jsonEqual(a[key], b[key])) out.push(key)
  }
  return out.sort()
}

/**
 * Deep equality of JSON values (object key order ignored).
 * @param a - a JSON value.
 * @param b - another JSON value.
 * @returns true when they are equal as JSON.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  const ob = b as Record<string, unknown>
  const oa = a as Record<string, unknown>
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(ob, k) || !jsonEqual(oa[k], ob[k])) return false
  }
  return true
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
