/**
 * The hybrid logical clock itself, lean: its text form (`wwwwwwwwwwww-cccc-node`, which sorts as
 * the stamps do) and the clock that issues and merges stamps in that form. The `SyncManager`
 * stamps and merges with it directly, as strings; `Hlc` and `HybridLogicalClock` (`hlc.ts`) are
 * the version object and the public clock built on it, so an app that syncs does not ship them.
 *
 * Source: S. Kulkarni, M. Demirbas, D. Madeppa, B. Avva, M. Leone, "Logical Physical Clocks and
 * Consistent Snapshots in Globally Distributed Databases", OPODIS 2014, Fig. 5.
 *
 * @module
 */
import { SYSTEM_CLOCK } from '../core/timers.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Clock } from '../types/index.js'
import { NODE_ID } from './clock-map.js'

/** Largest wall time an HLC stamp holds: 2^48 − 1 ms (about the year 10889). */
export const HLC_MAX_WALL_MS: number = 2 ** 48 - 1
/** Largest logical counter: 2^16 − 1. Past it the clock borrows 1 ms from the future. */
export const HLC_MAX_COUNTER: number = 2 ** 16 - 1
/** Default maximum forward drift accepted for a remote stamp: 60 000 ms (one minute). */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/** The text of a stamp: 12 hex digits of wall ms, 4 of counter, the node id (as groups). */
// eslint-disable-next-line @typescript-eslint/no-inferrable-types -- isolatedDeclarations asks for it
export const HLC_STAMP: RegExp = /^([0-9a-f]{12})-([0-9a-f]{4})-([\w.~-]{1,64})$/
/** The same without groups, for the test alone (checked on every received event). */
const STAMP_TEXT = /^[0-9a-f]{12}-[0-9a-f]{4}-[\w.~-]{1,64}$/

/**
 * Checks a replica (node) id for use in HLC stamps and vector clocks: 1–64 characters of
 * `A-Z a-z 0-9 . _ ~ -`. ASCII only, so every runtime and language orders ids the same way
 * (byte order).
 * @param nodeId - the id.
 * @throws SyncKitError `invalid-argument`.
 */
export function assertNodeId(nodeId: string): void {
  if (typeof nodeId !== 'string' || !NODE_ID.test(nodeId)) {
    throw new SyncKitError(
      'invalid-argument',
      `node id "${String(nodeId).slice(0, 80)}" is invalid; use 1-64 characters of A-Z a-z 0-9 . _ ~ -`,
      { argument: 'nodeId' },
    )
  }
}

/**
 * Tells whether a value is the text of an HLC stamp. Every such text is a valid stamp (12 hex
 * digits cannot pass the wall limit, nor 4 the counter limit), and two of them compare as strings
 * exactly as the stamps do.
 * @param value - any value, e.g. `metadata.hlc`.
 * @returns true for a stamp.
 */
export function isHlcStamp(value: unknown): value is string {
  return typeof value === 'string' && STAMP_TEXT.test(value)
}

/**
 * The wall part of a stamp.
 * @param stamp - a stamp's text ({@link isHlcStamp}).
 * @returns its wall time in ms.
 */
export function stampWallMs(stamp: string): number {
  return parseInt(stamp.slice(0, 12), 16)
}

/**
 * Writes a stamp.
 * @param wallMs - the wall part, 0 … {@link HLC_MAX_WALL_MS}.
 * @param counter - the counter, 0 … {@link HLC_MAX_COUNTER}.
 * @param nodeId - the node id.
 * @returns the text, e.g. `018f4df7405d-002a-replica-a`.
 */
export function writeStamp(wallMs: number, counter: number, nodeId: string): string {
  return `${wallMs.toString(16).padStart(12, '0')}-${counter.toString(16).padStart(4, '0')}-${nodeId}`
}

/** Options of {@link StampClock}: the public `HybridLogicalClockOptions`, with `last` as text. */
export interface StampClockOptions {
  /** This node's id; see {@link assertNodeId}. */
  readonly nodeId: string
  /** Wall-clock source. @defaultValue `Date` */
  readonly clock?: Clock | undefined
  /** Largest lead (ms) of a remote stamp over the wall clock. @defaultValue {@link DEFAULT_MAX_DRIFT_MS} */
  readonly maxDriftMs?: number | undefined
  /** The last stamp issued before a restart: stamps continue after it. */
  readonly last?: string | undefined
}

/**
 * A hybrid logical clock over stamp texts (the algorithm of `HybridLogicalClock`, which is built
 * on it):
 * - local event (`now`): `l = max(l, pt)`; the counter increments when `l` did not move, else
 *   resets to 0;
 * - receive: `l = max(l, m.l, pt)` with the counter rule of the paper; the result sorts after both
 *   the previous local stamp and the received one;
 * - counter overflow borrows the next millisecond; a wall clock that steps back never makes
 *   stamps go backwards.
 */
export class StampClock {
  /** This node's id. */
  readonly nodeId: string
  /** Maximum accepted forward drift of remote stamps, in ms. */
  readonly maxDriftMs: number
  readonly #clock: Clock
  #wall = 0
  #counter = 0

  /**
   * @param options - node id, time source, drift bound, last stamp.
   * @throws SyncKitError `invalid-argument` for a bad node id or drift bound.
   */
  constructor(options: StampClockOptions) {
    assertNodeId(options.nodeId)
    const maxDrift = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS
    if (!(maxDrift >= 0)) {
      throw new SyncKitError('invalid-argument', `maxDriftMs must be ≥ 0, got ${maxDrift}`, {
        argument: 'maxDriftMs',
      })
    }
    this.nodeId = options.nodeId
    this.maxDriftMs = maxDrift
    this.#clock = options.clock ?? SYSTEM_CLOCK
    const last = options.last
    if (last !== undefined) {
      this.#wall = stampWallMs(last)
      this.#counter = parseInt(last.slice(13, 17), 16)
    }
  }

  /** The last stamp issued (or restored). */
  get last(): string {
    return writeStamp(this.#wall, this.#counter, this.nodeId)
  }

  /**
   * Issues a stamp for a local event.
   * @returns a stamp greater than every stamp this clock issued or received before.
   * @throws SyncKitError `clock-overflow` past the year 10889.
   */
  now(): string {
    const pt = this.#physical()
    if (pt > this.#wall) {
      this.#wall = pt
      this.#counter = 0
    } else this.#tick()
    return this.last
  }

  /**
   * Merges a received stamp: the next stamp ({@link StampClock.last}) sorts after it.
   * @param stamp - the received stamp's text ({@link isHlcStamp}).
   * @throws SyncKitError `clock-drift` when `stamp` is more than `maxDriftMs` ahead of the wall
   * clock (the clock is left unchanged), `clock-overflow`.
   */
  receive(stamp: string): void {
    const pt = this.#physical()
    this.check(stamp, pt)
    const wall = stampWallMs(stamp)
    const counter = parseInt(stamp.slice(13, 17), 16)
    const l = Math.max(this.#wall, wall, pt)
    if (l === this.#wall && l === wall) {
      this.#counter = Math.max(this.#counter, counter)
      this.#tick()
    } else if (l === this.#wall) {
      this.#tick()
    } else if (l === wall) {
      this.#wall = l
      this.#counter = counter
      this.#tick()
    } else {
      this.#wall = l
      this.#counter = 0
    }
  }

  /**
   * Checks a remote stamp against the drift bound without changing the clock.
   * @param stamp - the stamp's text.
   * @param pt - the wall clock now. @defaultValue the clock's reading
   * @throws SyncKitError `clock-drift`.
   */
  check(stamp: string, pt: number = this.#physical()): void {
    const drift = stampWallMs(stamp) - pt
    if (drift > this.maxDriftMs) {
      throw new SyncKitError(
        'clock-drift',
        `remote HLC stamp ${stamp} is ${drift} ms ahead of the local clock (max ${this.maxDriftMs} ms)`,
        { stamp, driftMs: drift, maxDriftMs: this.maxDriftMs },
      )
    }
  }

  #tick(): void {
    if (this.#counter < HLC_MAX_COUNTER) {
      this.#counter += 1
      return
    }
    // Counter exhausted within one millisecond: borrow the next millisecond.
    if (this.#wall >= HLC_MAX_WALL_MS) {
      throw new SyncKitError('clock-overflow', 'HLC wall time is exhausted', {})
    }
    this.#wall += 1
    this.#counter = 0
  }

  #physical(): number {
    const t = Math.floor(this.#clock.now())
    return Number.isFinite(t) ? Math.min(Math.max(t, 0), HLC_MAX_WALL_MS) : 0
  }
}
