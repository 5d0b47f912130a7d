import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from './sync-kit-error.js'

// What another copy of the package (the CJS build next to the ESM one, another installed version)
// makes: an Error named SyncKitError with a code, marked by that copy's constructor.
function foreignCopyError(): Error {
  const error = Object.assign(new Error('[sync-kit] from another copy'), {
    name: 'SyncKitError',
    code: 'unavailable',
    details: {},
  })
  Object.defineProperty(error, Symbol.for('sync-kit.SyncKitError'), { value: true })
  return error
}

describe('SyncKitError instanceof', () => {
  it('holds for an error of this class and of a subclass', () => {
    class TestError extends SyncKitError<'internal'> {}
    expect(new SyncKitError('internal', 'boom', {})).toBeInstanceOf(SyncKitError)
    expect(new TestError('internal', 'boom', {}) instanceof SyncKitError).toBe(true)
    expect(new SyncKitError('internal', 'boom', {}) instanceof Error).toBe(true)
  })

  it('Given an error made by another copy of the package, Then it is instanceof SyncKitError', () => {
    const error = foreignCopyError()
    expect(error instanceof SyncKitError).toBe(true)
    expect(isSyncKitError(error, 'unavailable')).toBe(true)
  })

  it('never holds for a look-alike that sync-kit did not make', () => {
    const named = Object.assign(new Error('x'), { name: 'SyncKitError', code: 'internal' })
    const plain = { name: 'SyncKitError', code: 'internal', message: 'x' }
    const brandedWithoutCode = Object.assign(new Error('x'), { name: 'SyncKitError' })
    Object.defineProperty(brandedWithoutCode, Symbol.for('sync-kit.SyncKitError'), { value: true })
    for (const value of [named, plain, brandedWithoutCode, new Error('x'), null, undefined, 'e']) {
      expect(value instanceof SyncKitError).toBe(false)
    }
    // isSyncKitError keeps its documented name-and-code test.
    expect(isSyncKitError(named)).toBe(true)
  })

  it('keeps the ordinary test for a subclass: an error of another copy is not a subclass instance', () => {
    class TestError extends SyncKitError<'internal'> {}
    expect(foreignCopyError() instanceof TestError).toBe(false)
    expect(new SyncKitError('internal', 'boom', {}) instanceof TestError).toBe(false)
  })

  it('adds no enumerable property: keys and JSON are unchanged', () => {
    const error = new SyncKitError('timeout', 'slow', { timeoutMs: 5 })
    expect(Object.keys(error).sort()).toEqual(['code', 'details', 'name'])
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SyncKitError',
      code: 'timeout',
      details: { timeoutMs: 5 },
    })
  })
})
