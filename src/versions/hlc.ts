import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Clock, Version } from '../types/index.js'
import {
  DEFAULT_MAX_DRIFT_MS,
  HLC_MAX_COUNTER,
  HLC_MAX_WALL_MS,
  HLC_STAMP as STAMP,
  StampClock,
  assertNodeId,
  writeStamp,
} from './hlc-stamp.js'
import { mismatchError, parseError } from './version-errors.js'

export { DEFAULT_MAX_DRIFT_MS, HLC_MAX_COUNTER, HLC_MAX_WALL_MS, assertNodeId }

/** An HLC from another package copy, taken by its string form; anything else is a mismatch. */
function parseForeign(other: Version): Hlc {
  const s = String(other)
  if (STAMP.test(s)) return Hlc.parse(s)
  throw mismatchError(s, 'hlc')
}

/**
 * A hybrid logical clock timestamp: `(wall ms, counter, node id)`.
 *
 * Order: by wall time, then counter, then node id compared by byte (ASCII) order — a total,
 * deterministic order, the same in every runtime. The string form
 * `wwwwwwwwwwww-cccc-node` (12 hex digits of wall ms, 4 hex digits of counter, the node id) sorts
 * lexicographically exactly like the order.
 *
 * Source: S. Kulkarni, M. Demirbas, D. Madeppa, B. Avva, M. Leone, "Logical Physical Clocks and
 * Consistent Snapshots in Globally Distributed Databases", OPODIS 2014.
 *
 * @example
 * ```ts
 * import { Hlc } from 'sync-kit'
 *
 * const stamp = Hlc.parse('018f4df7405d-0001-replica-a')
 * stamp.wallMs // 1715000000605
 * ```
 */
export class Hlc implements Version {
  /** The zero stamp, before every other. */
  static readonly ZERO: Hlc = /* @__PURE__ */ new Hlc(0, 0, '0')

  /** Wall-clock part in ms since the Unix epoch, 0 … {@link HLC_MAX_WALL_MS}. */
  readonly wallMs: number
  /** Logical counter, 0 … {@link HLC_MAX_COUNTER}. */
  readonly counter: number
  /** Id of the node that made the stamp. */
  readonly nodeId: string

  /**
   * Creates a stamp.
   * @param wallMs - wall-clock ms, an integer in range.
   * @param counter - logical counter, an integer in range.
   * @param nodeId - see {@link assertNodeId}.
   * @throws SyncKitError `clock-overflow` for out-of-range parts, `invalid-argument` for a bad id.
   */
  constructor(wallMs: number, counter: number, nodeId: string) {
    if (!Number.isInteger(wallMs) || wallMs < 0 || wallMs > HLC_MAX_WALL_MS) {
      throw new SyncKitError('clock-overflow', `HLC wall time ${wallMs} is out of range`, {})
    }
    if (!Number.isInteger(counter) || counter < 0 || counter > HLC_MAX_COUNTER) {
      throw new SyncKitError('clock-overflow', `HLC counter ${counter} is out of range`, {})
    }
    assertNodeId(nodeId)
    this.wallMs = wallMs
    this.counter = counter
    this.nodeId = nodeId
  }

  /**
   * Parses the string form.
   * @param value - e.g. `018f2a3b4c5d-0001-replica-a`.
   * @throws SyncKitError `version-parse`.
   */
  static parse(value: string): Hlc {
    const m = typeof value === 'string' ? STAMP.exec(value) : null
    if (m === null) {
      throw parseError(value, "an HLC stamp (12 hex digits, '-', 4 hex digits, '-', node id)")
    }
    return new Hlc(parseInt(m[1] as string, 16), parseInt(m[2] as string, 16), m[3] as string)
  }

  /**
   * Total order: wall, then counter, then node id by byte order.
   * @throws SyncKitError `version-mismatch` for a version of another kind.
   */
  compare(other: Version): -1 | 0 | 1 {
    const o = other instanceof Hlc ? other : parseForeign(other)
    if (this.wallMs !== o.wallMs) return this.wallMs < o.wallMs ? -1 : 1
    if (this.counter !== o.counter) return this.counter < o.counter ? -1 : 1
    if (this.nodeId === o.nodeId) return 0
    return this.nodeId < o.nodeId ? -1 : 1
  }

  /** The sortable string form. */
  toString(): string {
    return writeStamp(this.wallMs, this.counter, this.nodeId)
  }

  /** Same as `toString`. */
  toJSON(): string {
    return this.toString()
  }

  /** True for wall 0 and counter 0. */
  isZero(): boolean {
    return this.wallMs === 0 && this.counter === 0
  }
}

/** Options for {@link HybridLogicalClock}. */
export interface HybridLogicalClockOptions {
  /** This node's id; see {@link assertNodeId}. */
  readonly nodeId: string
  /** Wall-clock source. @defaultValue `Date` */
  readonly clock?: Clock
  /**
   * Largest amount (ms) a remote stamp may be ahead of the local wall clock; stamps further ahead
   * are rejected with `clock-drift` and do not move this clock.
   * @defaultValue {@link DEFAULT_MAX_DRIFT_MS}
   */
  readonly maxDriftMs?: number | undefined
  /** The last stamp issued before a restart (persisted by the caller); stamps continue after it. */
  readonly last?: Hlc
}

/**
 * A hybrid logical clock: issues {@link Hlc} stamps that follow causality (a stamp issued after
 * receiving another sorts after it) and stay close to wall-clock time.
 *
 * - Send / local event (`now`): `l = max(l, pt)`; the counter increments when `l` did not move,
 *   else resets to 0.
 * - Receive (`receive`): `l = max(l, m.l, pt)` with the counter rule of the paper; the result sorts
 *   after both the previous local stamp and the received one.
 * - Counter overflow: when the counter would pass {@link HLC_MAX_COUNTER}, the wall part advances
 *   by 1 ms and the counter restarts at 0, so stamps stay strictly increasing.
 * - A wall clock that steps back never makes stamps go backwards.
 *
 * Source: Kulkarni et al., "Logical Physical Clocks and Consistent Snapshots in Globally
 * Distributed Databases", OPODIS 2014, Fig. 5.
 *
 * @example
 * ```ts
 * import { HybridLogicalClock } from 'sync-kit'
 *
 * const clock = new HybridLogicalClock({ nodeId: 'replica-a' })
 * const stamp = clock.now()
 * ```
 */
export class HybridLogicalClock {
  /** This node's id. */
  readonly nodeId: string
  /** Maximum accepted forward drift of remote stamps, in ms. */
  readonly maxDriftMs: number
  /** The algorithm, over stamp texts (`hlc-stamp.ts`). */
  readonly #clock: StampClock

  /**
   * Creates a clock.
   * @param options - node id, time source, drift bound, last persisted stamp.
   * @throws SyncKitError `invalid-argument` for a bad node id or drift bound.
   */
  constructor(options: HybridLogicalClockOptions) {
    const last = options.last
    this.#clock = new StampClock({
      nodeId: options.nodeId,
      clock: options.clock,
      maxDriftMs: options.maxDriftMs,
      last: last === undefined ? undefined : writeStamp(last.wallMs, last.counter, '0'),
    })
    this.nodeId = this.#clock.nodeId
    this.maxDriftMs = this.#clock.maxDriftMs
  }

  /** The last stamp issued (or restored); persist it to survive restarts. */
  get last(): Hlc {
    return Hlc.parse(this.#clock.last)
  }

  /**
   * Issues a stamp for a local or send event.
   * @returns a stamp greater than every stamp this clock issued or received before.
   * @throws SyncKitError `clock-overflow` past the year 10889.
   */
  now(): Hlc {
    return Hlc.parse(this.#clock.now())
  }

  /**
   * Merges a received stamp (receive event) and issues a stamp that sorts after it.
   * @param remote - the received stamp.
   * @returns a stamp greater than `remote` and than every earlier local stamp.
   * @throws SyncKitError `clock-drift` when `remote` is more than `maxDriftMs` ahead of the wall
   * clock (this clock is left unchanged), `clock-overflow`.
   */
  receive(remote: Hlc): Hlc {
    this.#clock.receive(remote.toString())
    return this.last
  }

  /**
   * Checks a remote stamp against the drift bound without changing the clock.
   * @param remote - the stamp.
   * @param pt - the wall clock now. @defaultValue the clock's reading
   * @throws SyncKitError `clock-drift`.
   */
  check(remote: Hlc, pt?: number): void {
    this.#clock.check(remote.toString(), pt)
  }
}
