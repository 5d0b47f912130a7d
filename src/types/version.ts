/**
 * A point in a store's or remote's history, used as a cursor for "everything after this".
 *
 * Implementations: `SequenceVersion` (an integer cursor), `Hlc` (a hybrid logical clock stamp) and
 * `VectorClock` (causal context). `compare` is a total order within one kind of version; the
 * causal relation of vector clocks (`concurrent`) is a separate API, never squeezed into
 * `compare`.
 *
 * @example
 * ```ts
 * import type { Version } from 'sync-kit/types'
 *
 * function isNewer(a: Version, b: Version): boolean {
 *   return a.compare(b) > 0
 * }
 * ```
 */
export interface Version {
  /**
   * Orders this version against another of the same kind.
   *
   * @param other - a version of the same kind.
   * @returns `-1` if this is before `other`, `0` if equal, `1` if after.
   * @throws SyncKitError `version-mismatch` when `other` is of another kind.
   */
  compare(other: Version): -1 | 0 | 1
  /** The string form; the owning store's or transport's `parseVersion` accepts it. */
  toString(): string
  /** True for the initial version that comes before every stored event. */
  isZero(): boolean
}
