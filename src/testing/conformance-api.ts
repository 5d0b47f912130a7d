import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../errors/sync-kit-error.js'

// `ConformanceTestApi` and `ConformanceSkips` are public (re-exported from `sync-kit/testing`).
// Everything else here is internal to sync-kit's conformance suites, which assert with these
// helpers instead of the runner's `expect` so that they work with any runner.

/**
 * The few test-runner functions a conformance suite needs, passed in by the caller so the suites
 * in `sync-kit/testing` work with any runner (vitest, jest, `node:test`, mocha, …).
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import type { ConformanceTestApi } from 'sync-kit/testing'
 *
 * const test: ConformanceTestApi = {
 *   describe,
 *   it: (name, fn) => it(name, fn),
 *   skip: (name, reason) => it.skip(`${name} (${reason})`, () => {}),
 * }
 * ```
 */
export interface ConformanceTestApi {
  /**
   * Groups cases, like vitest's `describe`; called synchronously while the suite registers.
   * @param name - the group name (the suite's `name` option).
   * @param fn - registers the cases of the group.
   */
  describe(name: string, fn: () => void): void
  /**
   * Registers one case. The case passes when the promise resolves and fails when it rejects (the
   * suites never use the runner's own `expect`).
   * @param name - the case name, one of the suite's exported case names.
   * @param fn - the case body.
   */
  it(name: string, fn: () => Promise<void>): void
  /**
   * Registers a skipped case so that it shows up in the report with its reason, e.g.
   * `(name, reason) => it.skip(`${name} (${reason})`, () => {})`.
   * @param name - the case name.
   * @param reason - why it is skipped (from the caller's `skip` map, or chosen by the suite when
   * the implementation lacks an optional capability).
   */
  skip(name: string, reason: string): void
}

/**
 * Case name → reason: the cases a caller skips, with why.
 *
 * @example
 * ```ts
 * import type { ConformanceSkips } from 'sync-kit/testing'
 *
 * const skip: ConformanceSkips = { 'filter by type': 'types are not indexed yet' }
 * ```
 */
export type ConformanceSkips = Readonly<Record<string, string>>

/**
 * The error a failed conformance assertion throws. Its message says what was checked, what was
 * expected and what came instead.
 */
export class ConformanceAssertionError extends Error {
  /** Always `'ConformanceAssertionError'`. */
  override readonly name = 'ConformanceAssertionError' as const
}

/**
 * Fails the current case.
 * @param message - what went wrong.
 * @throws ConformanceAssertionError always.
 */
export function fail(message: string): never {
  throw new ConformanceAssertionError(message)
}

/**
 * Fails the current case unless `condition` is truthy.
 * @param condition - the checked condition.
 * @param message - what was expected, e.g. `versions increase`.
 * @throws ConformanceAssertionError when the condition is falsy.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message)
}

/**
 * Fails the current case unless `actual` deeply equals `expected` (see {@link deepEqual}).
 * @param actual - the value the implementation produced.
 * @param expected - the value the contract requires.
 * @param message - what was checked.
 * @throws ConformanceAssertionError when they differ, with both values in the message.
 */
export function assertEqual(actual: unknown, expected: unknown, message: string): void {
  if (!deepEqual(actual, expected)) {
    fail(`${message}\n  expected: ${formatValue(expected)}\n  actual:   ${formatValue(actual)}`)
  }
}

/**
 * Runs `fn` and fails the current case unless it throws (or rejects with) a `SyncKitError` of the
 * given code whose message starts with `[sync-kit]`.
 * @param fn - the call expected to fail.
 * @param code - the required error code.
 * @param message - what was checked.
 * @returns the error, for further checks of its `details`.
 * @throws ConformanceAssertionError when `fn` succeeds or fails differently.
 */
export async function assertRejects<TCode extends SyncKitErrorCode>(
  fn: () => unknown,
  code: TCode,
  message: string,
): Promise<SyncKitError<TCode>> {
  let result: unknown
  try {
    result = await fn()
  } catch (error) {
    if (!isSyncKitError(error, code)) {
      fail(`${message}: expected a SyncKitError with code "${code}", got ${describeError(error)}`)
    }
    if (!error.message.startsWith('[sync-kit]')) {
      fail(`${message}: the error message should start with "[sync-kit]", got "${error.message}"`)
    }
    return error
  }
  fail(
    `${message}: expected a rejection with code "${code}", but it resolved to ${formatValue(result)}`,
  )
}

/**
 * Structural equality for the values the suites compare: primitives (`0` equals `-0`, `NaN`
 * equals `NaN`), arrays element by element, and plain objects key by key in any order, ignoring
 * keys whose value is `undefined` (as JSON does). Other objects are equal only to themselves.
 * @param a - one value.
 * @param b - the other value.
 * @returns true when equal.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false
    return true
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined)
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined)
  if (ka.length !== kb.length) return false
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !deepEqual(ra[k], rb[k])) return false
  }
  return true
}

/**
 * Renders a value for an assertion message: JSON with strings escaped, `undefined`, bigints and
 * versions (anything with its own `toString`) shown readably, cut at 500 characters.
 * @param value - any value.
 * @returns a one-line description.
 */
export function formatValue(value: unknown): string {
  let s: string
  try {
    s =
      value === undefined
        ? 'undefined'
        : (JSON.stringify(value, (_key, v: unknown) =>
            typeof v === 'bigint'
              ? `${v.toString()}n`
              : v === undefined
                ? '<undefined>'
                : typeof v === 'object' && v !== null && !Array.isArray(v) && !isPlainObject(v)
                  ? `<${v.constructor?.name ?? 'object'} ${String(v)}>`
                  : v,
          ) ?? String(value))
  } catch {
    // A cycle, or a getter that throws: say so rather than print something misleading.
    s = `<${Array.isArray(value) ? 'array' : typeof value} that cannot be rendered as JSON>`
  }
  return s.length > 500 ? `${s.slice(0, 500)}… (${s.length} chars)` : s
}

/**
 * Checks a suite's `skip` map against its case names, so that a typo never skips silently.
 * @param suite - the suite name, for the message (e.g. `event store conformance (memory)`).
 * @param cases - every case name of the suite.
 * @param skip - the caller's map of case name → reason.
 * @returns the validated map (empty when absent).
 * @throws SyncKitError `invalid-argument` for an unknown case name or an empty reason.
 */
export function checkSkips(
  suite: string,
  cases: readonly string[],
  skip: ConformanceSkips | undefined,
): ConformanceSkips {
  if (skip === undefined) return {}
  if (typeof skip !== 'object' || skip === null || Array.isArray(skip)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${suite}] skip must be an object mapping case names to reasons`,
      { argument: 'skip' },
    )
  }
  const known = new Set(cases)
  for (const [name, reason] of Object.entries(skip)) {
    if (!known.has(name)) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${suite}] skip names an unknown case "${name}"; use one of the exported case names`,
        { argument: 'skip' },
      )
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${suite}] skip of "${name}" needs a non-empty reason`,
        { argument: 'skip' },
      )
    }
  }
  return skip
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function describeError(error: unknown): string {
  if (isSyncKitError(error)) return `SyncKitError "${error.code}": ${error.message}`
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return formatValue(error)
}

/**
 * Checks the options every conformance suite shares: an object with a non-empty `name`, a factory
 * function under `factoryKey`, and a `test` object with `describe`, `it` and `skip`.
 * @param suite - the suite name, for the message.
 * @param options - the caller's options.
 * @param factoryKey - the factory's option name, e.g. `createStore`.
 * @param subject - what the suite checks, e.g. `store`, for the messages.
 * @returns a function that makes further `invalid-argument` errors for suite-specific options.
 * @throws SyncKitError `invalid-argument` naming the first bad option.
 */
export function checkSuiteOptions(
  suite: string,
  options: unknown,
  factoryKey: string,
  subject: string,
): (argument: string, message: string) => SyncKitError<'invalid-argument'> {
  const bad = (argument: string, message: string): SyncKitError<'invalid-argument'> =>
    new SyncKitError('invalid-argument', `[sync-kit] [${suite}] ${message}`, { argument })
  if (typeof options !== 'object' || options === null) {
    throw bad('options', `options must be an object with name, ${factoryKey} and test`)
  }
  const o = options as Record<string, unknown>
  if (typeof o.name !== 'string' || o.name === '') {
    throw bad('name', `name must be a non-empty string naming the ${subject}`)
  }
  if (typeof o[factoryKey] !== 'function') {
    throw bad(factoryKey, `${factoryKey} must be a function returning a fresh ${subject}`)
  }
  const t = o.test as Partial<ConformanceTestApi> | undefined
  if (
    typeof t !== 'object' ||
    typeof t.describe !== 'function' ||
    typeof t.it !== 'function' ||
    typeof t.skip !== 'function'
  ) {
    throw bad('test', 'test must provide describe, it and skip functions')
  }
  return bad
}
