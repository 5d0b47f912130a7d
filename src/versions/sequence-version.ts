import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Version } from '../types/index.js'
import { mismatchError, parseError } from './version-errors.js'

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const DIGITS = /^(0|[1-9][0-9]{0,39})$/

/**
 * An integer cursor: the position of an event in one store's or remote's log (1, 2, 3, …; 0 is
 * "before everything").
 *
 * Backed by `bigint`, so it never loses precision past 2^53. The string form is the plain decimal
 * number (`"0"`, `"42"`, `"9007199254740993"`), which is also how it travels on the wire.
 *
 * @example
 * ```ts
 * import { SequenceVersion } from 'sync-kit'
 *
 * const v = SequenceVersion.parse('9007199254740993')
 * v.next().toString() // '9007199254740994'
 * ```
 */
export class SequenceVersion implements Version {
  /** The zero version, before every event. */
  static readonly ZERO: SequenceVersion = /* @__PURE__ */ new SequenceVersion(0)

  /**
   * The position: a `number` while it is a safe integer (the common case: plain number
   * arithmetic), a `bigint` past 2^53 − 1. One private field set once, never changed: a version
   * can be shared by every reader (the memory store hands out the same one on every load), and
   * nobody holding it can alter what the others see.
   */
  readonly #n: number | bigint

  /**
   * Creates a version.
   * @param value - a non-negative integer (a `number` must be a safe integer).
   * @throws SyncKitError `invalid-argument` for negative, fractional or unsafe numbers.
   */
  constructor(value: bigint | number) {
    const number = typeof value === 'number'
    if (
      number ? !Number.isSafeInteger(value) || value < 0 : typeof value !== 'bigint' || value < 0n
    ) {
      throw new SyncKitError(
        'invalid-argument',
        `sequence version must be a non-negative safe integer or bigint, got ${String(value)}`,
        { argument: 'value' },
      )
    }
    this.#n = number || value > MAX_SAFE ? value : Number(value)
  }

  /** The position, ≥ 0, exact at any size. */
  get value(): bigint {
    return BigInt(this.#n)
  }

  /**
   * The position as a `number` when it is a safe integer (≤ 2^53 − 1).
   * @returns the position, or `undefined` past the safe-integer range.
   */
  toSafeNumber(): number | undefined {
    const n = this.#n
    return typeof n === 'number' ? n : undefined
  }

  /**
   * Parses the decimal string form.
   * @param value - e.g. `"42"`; no sign, no leading zeros, at most 40 digits.
   * @returns the version.
   * @throws SyncKitError `version-parse` for anything else.
   */
  static parse(value: string): SequenceVersion {
    if (typeof value !== 'string' || !DIGITS.test(value)) {
      throw parseError(value, 'a sequence version (a non-negative decimal integer such as "42")')
    }
    return new SequenceVersion(value.length < 16 ? +value : BigInt(value))
  }

  /**
   * Narrows a version to a sequence version.
   * @param version - a version, or `null` for zero.
   * @returns the same version typed as `SequenceVersion`.
   * @throws SyncKitError `version-mismatch` when it is another kind.
   */
  static from(version: Version | null): SequenceVersion {
    if (version === null) return SequenceVersion.ZERO
    if (version instanceof SequenceVersion) return version
    // A copy from another package instance: accept it by its string form.
    const s = String(version)
    if (DIGITS.test(s)) return SequenceVersion.parse(s)
    throw mismatchError(s, 'sequence')
  }

  /** The following position. */
  next(): SequenceVersion {
    // The constructor keeps it a number while it is safe.
    return new SequenceVersion(BigInt(this.#n) + 1n)
  }

  /**
   * Orders by position.
   * @throws SyncKitError `version-mismatch` for a version of another kind.
   */
  compare(other: Version): -1 | 0 | 1 {
    const o = SequenceVersion.from(other)
    // `<` and `>` also compare a number with a bigint exactly.
    const a = this.#n
    const b = o.#n
    return a < b ? -1 : a > b ? 1 : 0
  }

  /** The decimal string form. */
  toString(): string {
    return String(this.#n)
  }

  /** Same as `toString`, so versions serialise into JSON as strings (never lossy numbers). */
  toJSON(): string {
    return this.toString()
  }

  /** True for position 0. */
  isZero(): boolean {
    return this.#n === 0
  }
}
