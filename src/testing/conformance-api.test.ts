import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import {
  ConformanceAssertionError,
  assert,
  assertEqual,
  assertRejects,
  checkSkips,
  deepEqual,
  fail,
  formatValue,
} from './conformance-api.js'

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('deepEqual', () => {
  it.each([
    [1, 1],
    [0, -0],
    [Number.NaN, Number.NaN],
    ['a', 'a'],
    [null, null],
    [
      [1, [2]],
      [1, [2]],
    ],
    [
      { a: 1, b: { c: [] } },
      { b: { c: [] }, a: 1 },
    ],
    [{ a: 1, u: undefined }, { a: 1 }],
  ])('treats %j and %j as equal', (a, b) => {
    expect(deepEqual(a, b)).toBe(true)
    expect(deepEqual(b, a)).toBe(true)
  })

  it.each([
    [1, '1'],
    [null, undefined],
    [[1], { 0: 1 }],
    [[1, 2], [1]],
    [{ a: 1 }, { a: 2 }],
    [{ a: 1 }, { b: 1 }],
    [{}, null],
    [new SequenceVersion(1), new SequenceVersion(1)],
  ])('tells %j and %j apart', (a, b) => {
    expect(deepEqual(a, b)).toBe(false)
    expect(deepEqual(b, a)).toBe(false)
  })
})

describe('assertions', () => {
  it('assert and fail throw ConformanceAssertionError with the message', () => {
    expect(() => assert(true, 'fine')).not.toThrow()
    const error = thrown(() => assert(0, 'versions increase'))
    expect(error).toBeInstanceOf(ConformanceAssertionError)
    expect((error as Error).message).toBe('versions increase')
    expect((error as Error).name).toBe('ConformanceAssertionError')
    expect(() => fail('boom')).toThrow(ConformanceAssertionError)
  })

  it('assertEqual shows expected and actual', () => {
    expect(() => assertEqual({ a: [1] }, { a: [1] }, 'same')).not.toThrow()
    const error = thrown(() => assertEqual(['e1', 'e2'], ['e1'], 'event ids'))
    expect((error as Error).message).toBe('event ids\n  expected: ["e1"]\n  actual:   ["e1","e2"]')
  })

  it('assertRejects returns the error of the right code', async () => {
    const error = await assertRejects(
      () => Promise.reject(new SyncKitError('closed', 'store closed', {})),
      'closed',
      'after close',
    )
    expect(isSyncKitError(error, 'closed')).toBe(true)
    const sync = await assertRejects(
      () => {
        throw new SyncKitError('version-parse', 'bad', { value: 'x' })
      },
      'version-parse',
      'parse',
    )
    expect(sync.details.value).toBe('x')
  })

  it.each([
    [
      'resolves',
      () => Promise.resolve(5),
      /expected a rejection with code "closed", but it resolved to 5/,
    ],
    [
      'another code',
      () => Promise.reject(new SyncKitError('aborted', 'x', {})),
      /got SyncKitError "aborted"/,
    ],
    ['a plain error', () => Promise.reject(new TypeError('nope')), /got TypeError: nope/],
    [
      'a message without the prefix',
      () => Promise.reject({ name: 'SyncKitError', code: 'closed', message: 'closed' }),
      /should start with "\[sync-kit\]"/,
    ],
  ])('assertRejects fails when the call %s', async (_name, fn, message) => {
    await expect(assertRejects(fn, 'closed', 'after close')).rejects.toThrow(message)
  })
})

describe('formatValue', () => {
  it('renders undefined, bigints, versions and long values readably', () => {
    expect(formatValue(undefined)).toBe('undefined')
    expect(formatValue({ n: 1n, u: undefined })).toBe('{"n":"1n","u":"<undefined>"}')
    // Versions render through their toJSON; other class instances by name and toString.
    expect(formatValue([new SequenceVersion(7)])).toBe('["7"]')
    class Point {
      readonly x = 1
      toString(): string {
        return 'P(1)'
      }
    }
    expect(formatValue({ p: new Point() })).toBe('{"p":"<Point P(1)>"}')
    expect(formatValue('x'.repeat(600))).toMatch(/… \(602 chars\)$/)
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    expect(formatValue(cyclic)).toBe('<array that cannot be rendered as JSON>')
  })
})

describe('checkSkips', () => {
  const cases = ['a', 'b']

  it('accepts known names with reasons, and no skips', () => {
    expect(checkSkips('suite', cases, { a: 'not supported' })).toEqual({ a: 'not supported' })
    expect(checkSkips('suite', cases, undefined)).toEqual({})
  })

  it.each([
    ['an unknown name', { c: 'typo' }, /unknown case "c"/],
    ['an empty reason', { a: '' }, /needs a non-empty reason/],
    ['a non-string reason', { a: true }, /needs a non-empty reason/],
    ['an array', ['a'], /must be an object/],
  ])('rejects %s with invalid-argument', (_name, skip, message) => {
    const error = thrown(() =>
      checkSkips('my suite', cases, skip as unknown as Record<string, string>),
    )
    expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    expect((error as Error).message).toMatch(/^\[sync-kit\] \[my suite\] skip/)
    expect((error as Error).message).toMatch(message)
  })
})
