/**
 * The two errors every kind of `Version` throws, written once: a string that is not a version of
 * the kind (`version-parse`) and a version of another kind (`version-mismatch`).
 *
 * @module
 */
import { SyncKitError } from '../errors/sync-kit-error.js'

/**
 * A `version-parse` error for a value that is not a version of the kind.
 * @param value - the value given (kept, cut to 256 characters, in `details.value`).
 * @param what - what was expected, e.g. `an HLC stamp (…)`.
 * @returns the error, to throw.
 */
export function parseError(value: unknown, what: string): SyncKitError<'version-parse'> {
  const text = String(value)
  return new SyncKitError('version-parse', `"${text.slice(0, 80)}" is not ${what}`, {
    value: text.slice(0, 256),
  })
}

/**
 * A `version-mismatch` error for a version of another kind.
 * @param other - the version given.
 * @param expected - the expected kind, for `details.expected`: `hlc`, `vector-clock`, `sequence`.
 * @param cause - why its string form did not parse, when it was tried.
 * @returns the error, to throw.
 */
export function mismatchError(
  other: unknown,
  expected: string,
  cause?: unknown,
): SyncKitError<'version-mismatch'> {
  const actual = String(other).slice(0, 80)
  return new SyncKitError(
    'version-mismatch',
    `expected a ${expected} version, got "${actual}"`,
    { expected, actual },
    { cause },
  )
}
