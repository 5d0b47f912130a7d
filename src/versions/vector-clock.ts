import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Version } from '../types/index.js'
import {
  type CausalRelation,
  MAX_VECTOR_CLOCK_ENTRIES,
  clockRelation,
  isDominated,
  readClock,
  writeClock,
} from './clock-map.js'
import { assertNodeId } from './hlc-stamp.js'
import { mismatchError, parseError } from './version-errors.js'

export { MAX_VECTOR_CLOCK_ENTRIES }
export type { CausalRelation }

/**
 * A vector clock: for each node id, how many of that node's events are known. Immutable.
 *
 * `relation` gives the causal relation (happened-before, after, equal, or concurrent) — the
 * question `Version.compare` cannot answer. `compare` keeps the seed's total-order contract by
 * ordering concurrent clocks deterministically (by the sum of their counters, then by string form),
 * which is a linear extension of happened-before: if `a` happened before `b`, `a.compare(b) < 0`.
 *
 * String form: `node:count` pairs joined by `,`, sorted by node id in byte order, zero counts
 * omitted (`""` is the empty clock), e.g. `a:3,b:1`. Counters are positive safe integers.
 *
 * Source: C. J. Fidge, "Timestamps in Message-Passing Systems That Preserve the Partial Ordering"
 * (1988); F. Mattern, "Virtual Time and Global States of Distributed Systems" (1989).
 *
 * @example
 * ```ts
 * import { VectorClock } from 'sync-kit'
 *
 * const a = VectorClock.parse('a:1')
 * const b = a.increment('b')
 * a.relation(b) // 'before'
 * a.increment('a').relation(b) // 'concurrent'
 * ```
 */
export class VectorClock implements Version {
  /** The empty clock (nothing seen). */
  static readonly EMPTY: VectorClock = /* @__PURE__ */ new VectorClock(new Map())

  private readonly counts: ReadonlyMap<string, number>
  private cachedString: string | undefined

  private constructor(counts: ReadonlyMap<string, number>) {
    this.counts = counts
  }

  /**
   * Builds a clock from `[nodeId, count]` pairs (zero counts dropped).
   * @param entries - node ids (see `assertNodeId`) and positive safe-integer counts.
   * @throws SyncKitError `invalid-argument`, `clock-overflow` past {@link MAX_VECTOR_CLOCK_ENTRIES}.
   */
  static from(entries: Iterable<readonly [string, number]>): VectorClock {
    const map = new Map<string, number>()
    for (const [node, count] of entries) {
      assertNodeId(node)
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new SyncKitError(
          'invalid-argument',
          `vector clock count for "${node}" must be a non-negative safe integer, got ${count}`,
          { argument: 'entries' },
        )
      }
      if (count > 0) map.set(node, Math.max(count, map.get(node) ?? 0))
    }
    if (map.size > MAX_VECTOR_CLOCK_ENTRIES) throw overflow(map.size)
    return new VectorClock(map)
  }

  /**
   * Parses the string form.
   * @param value - e.g. `a:3,b:1`, or `""` for the empty clock.
   * @throws SyncKitError `version-parse` for malformed input, unsorted or repeated ids, or more
   * than {@link MAX_VECTOR_CLOCK_ENTRIES} entries.
   */
  static parse(value: string): VectorClock {
    if (value === '') return VectorClock.EMPTY
    const map = readClock(value)
    if (map === undefined) {
      throw parseError(
        value,
        `a vector clock: sorted, unique "node:count" pairs joined by "," (at most ${MAX_VECTOR_CLOCK_ENTRIES}, counts below 2^53)`,
      )
    }
    const clock = new VectorClock(map)
    clock.cachedString = value
    return clock
  }

  /** Number of nodes with a non-zero count. */
  get size(): number {
    return this.counts.size
  }

  /**
   * The count for one node.
   * @param nodeId - the node.
   * @returns its count, 0 when absent.
   */
  get(nodeId: string): number {
    return this.counts.get(nodeId) ?? 0
  }

  /** The `[nodeId, count]` pairs, sorted by node id. */
  entries(): [string, number][] {
    return [...this.counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  /**
   * A clock with one more event of `nodeId`.
   * @param nodeId - the node that records an event.
   * @throws SyncKitError `clock-overflow` when the count would pass 2^53 − 1 or the clock would
   * pass {@link MAX_VECTOR_CLOCK_ENTRIES} entries; `invalid-argument` for a bad id.
   */
  increment(nodeId: string): VectorClock {
    const current = this.counts.get(nodeId)
    if (current === undefined) {
      assertNodeId(nodeId)
      if (this.counts.size + 1 > MAX_VECTOR_CLOCK_ENTRIES) throw overflow(this.counts.size + 1)
    } else if (current >= Number.MAX_SAFE_INTEGER) {
      throw new SyncKitError('clock-overflow', `vector clock count of "${nodeId}" overflowed`, {})
    }
    const map = new Map(this.counts)
    map.set(nodeId, (current ?? 0) + 1)
    return new VectorClock(map)
  }

  /**
   * The least upper bound: for each node, the larger count.
   * @param other - another clock.
   * @throws SyncKitError `clock-overflow` past {@link MAX_VECTOR_CLOCK_ENTRIES} entries.
   */
  merge(other: VectorClock): VectorClock {
    let map: Map<string, number> | undefined
    for (const [node, count] of other.counts) {
      if (count > (this.counts.get(node) ?? 0)) {
        map ??= new Map(this.counts)
        map.set(node, count)
      }
    }
    if (map === undefined) return this
    if (map.size > MAX_VECTOR_CLOCK_ENTRIES) throw overflow(map.size)
    return new VectorClock(map)
  }

  /**
   * True when every count of this clock is ≤ the other's (this clock's knowledge is included in
   * the other's).
   */
  isDominatedBy(other: VectorClock): boolean {
    return isDominated(this.counts, other.counts)
  }

  /**
   * The causal relation.
   * @param other - another clock.
   * @returns `before` (this happened before `other`), `after`, `equal`, or `concurrent`.
   */
  relation(other: VectorClock): CausalRelation {
    return clockRelation(this.counts, other.counts)
  }

  /**
   * A deterministic total order consistent with happened-before: `before` → -1, `after` → 1,
   * `equal` → 0; concurrent clocks by the sum of counters, then by string form.
   * @throws SyncKitError `version-mismatch` for a version of another kind.
   */
  compare(other: Version): -1 | 0 | 1 {
    const o = other instanceof VectorClock ? other : foreign(other)
    const relation = this.relation(o)
    if (relation !== 'concurrent') return relation === 'equal' ? 0 : relation === 'before' ? -1 : 1
    const a = this.sum()
    const b = o.sum()
    if (a !== b) return a < b ? -1 : 1
    const s = this.toString()
    const t = o.toString()
    return s < t ? -1 : s > t ? 1 : 0
  }

  /** The sorted string form. */
  toString(): string {
    this.cachedString ??= writeClock(this.counts)
    return this.cachedString
  }

  /** Same as `toString`. */
  toJSON(): string {
    return this.toString()
  }

  /** True for the empty clock. */
  isZero(): boolean {
    return this.counts.size === 0
  }

  private sum(): number {
    let total = 0
    for (const count of this.counts.values()) total += count
    return total
  }
}

function overflow(size: number): SyncKitError {
  return new SyncKitError(
    'clock-overflow',
    `vector clock would hold ${size} entries, over the bound of ${MAX_VECTOR_CLOCK_ENTRIES}`,
    {},
  )
}

function foreign(other: Version): VectorClock {
  try {
    return VectorClock.parse(String(other))
  } catch (cause) {
    throw mismatchError(other, 'vector-clock', cause)
  }
}
