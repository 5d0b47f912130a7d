/**
 * Adversarial regression tests for `validateEvent`: values that are not plain data but pretend to
 * be (throwing getters, proxies, arrays with their own iterator).
 */
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import { validateEvent } from './event-validation.js'

const base = { id: 'e1', type: 'Created', aggregateId: 'a1' }

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return isSyncKitError(error) ? error.code : `not a SyncKitError: ${String(error)}`
  }
  return 'no error'
}

describe('validateEvent with hostile values', () => {
  it('Given data with a getter that throws, When validating, Then it is rejected as invalid-event with the getter error as cause', () => {
    const boom = new Error('boom')
    const data = {
      get x(): number {
        throw boom
      },
    }
    let caught: unknown
    try {
      validateEvent({ ...base, data }, 'test')
    } catch (error) {
      caught = error
    }
    expect(isSyncKitError(caught, 'invalid-event')).toBe(true)
    expect((caught as Error).message).toMatch(/^\[sync-kit\] \[test\] event "e1" /)
    expect((caught as Error).cause).toBe(boom)
  })

  it('Given an event whose id getter or proxy trap throws, When validating, Then invalid-event', () => {
    const id = Object.defineProperty({ ...base, data: null }, 'id', {
      enumerable: true,
      get(): string {
        throw new Error('no id today')
      },
    })
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap')
        },
      },
    )
    expect(codeOf(() => validateEvent(id, 'test'))).toBe('invalid-event')
    expect(codeOf(() => validateEvent({ ...base, data: trap }, 'test'))).toBe('invalid-event')
    expect(codeOf(() => validateEvent({ ...base, data: null, metadata: trap }, 'test'))).toBe(
      'invalid-event',
    )
  })

  it('Given an array with its own iterator, When validating, Then the copy holds its elements, as JSON.stringify sends them', () => {
    const items = [1, 2, 3]
    Object.defineProperty(items, Symbol.iterator, {
      value: function* () {
        yield 9
      },
    })
    const copy = validateEvent({ ...base, data: { items } }, 'test')
    expect(copy.data).toEqual(JSON.parse(JSON.stringify({ items })))
  })

  it('Given a throwing getter, When pushed to the loopback hub or stored in memory, Then invalid-event (not internal) and nothing stored', async () => {
    const data = {
      get x(): number {
        throw new Error('boom')
      },
    }
    const hub = createLoopbackHub()
    const pushed = await hub
      .connect('a')
      .push([{ ...base, data }])
      .catch((e: unknown) => e)
    expect(isSyncKitError(pushed, 'invalid-event')).toBe(true)
    const store = createMemoryStore()
    const stored = await store.store({ ...base, data }).catch((e: unknown) => e)
    expect(isSyncKitError(stored, 'invalid-event')).toBe(true)
    expect(store.size).toBe(0)
    expect(await hub.store.load(null)).toEqual([])
  })
})
