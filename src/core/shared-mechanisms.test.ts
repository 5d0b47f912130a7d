import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { TestClock } from '../testing/test-clock.js'
import { backoffDelay, resolveBackoff } from './backoff.js'
import { checkBatchCheckpoint, checkCheckpointKey, checkCheckpointValue } from './checkpoint.js'
import { TIMER_RENAMES, integerOption, refuseRenamedOptions } from './options.js'
import { GLOBAL_TIMERS, resolveTimers } from './timers.js'

function argumentOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    if (isSyncKitError(error, 'invalid-argument')) return error.details.argument
    throw error
  }
  return undefined
}

describe('integerOption', () => {
  it('takes the fallback for undefined and accepts safe integers from min up', () => {
    expect(integerOption(undefined, 7, 'n', 'c')).toBe(7)
    expect(integerOption(1, 7, 'n', 'c')).toBe(1)
    expect(integerOption(0, 7, 'n', 'c', 0)).toBe(0)
  })

  it('refuses zero, fractions, non-numbers and unsafe integers, naming the option', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '3', null]) {
      expect(argumentOf(() => integerOption(bad, 7, 'backoff.maxMs', 'c'))).toBe('backoff.maxMs')
    }
    expect(() => integerOption(-1, 0, 'retries', 'http-client', 0)).toThrow(
      /\[http-client\] option retries must be an integer ≥ 0, got -1/,
    )
  })
})

describe('backoff (full jitter)', () => {
  const backoff = resolveBackoff({ initialMs: 100 }, { initialMs: 1, maxMs: 1_000 }, 'backoff', 'c')

  it('doubles the window per attempt up to maxMs', () => {
    expect(backoff).toEqual({ initialMs: 100, maxMs: 1_000 })
    const top = (attempt: number): number =>
      backoffDelay(attempt, backoff, () => 1 - Number.EPSILON)
    expect([1, 2, 3, 4, 5, 60].map(top)).toEqual([99, 199, 399, 799, 999, 999])
    expect(backoffDelay(3, backoff, () => 0)).toBe(0)
  })

  it('refuses bad values with the option path', () => {
    expect(argumentOf(() => resolveBackoff({ maxMs: 0 }, backoff, 'retry', 'c'))).toBe(
      'retry.maxMs',
    )
  })
})

describe('checkpoint validation', () => {
  it('copies valid keys and values', () => {
    expect(checkCheckpointKey({ remote: 'r', direction: 'pull', extra: 1 }, 's')).toEqual({
      remote: 'r',
      direction: 'pull',
    })
    expect(checkCheckpointValue({ version: '3', epoch: 'e' }, 's')).toEqual({
      version: '3',
      epoch: 'e',
    })
    expect(checkBatchCheckpoint(undefined, 's')).toBeUndefined()
  })

  it('names the failing part', () => {
    expect(argumentOf(() => checkCheckpointKey(null, 's'))).toBe('key')
    expect(argumentOf(() => checkCheckpointKey({ remote: '', direction: 'pull' }, 's'))).toBe(
      'key.remote',
    )
    expect(argumentOf(() => checkCheckpointKey({ remote: 'r', direction: 'up' }, 's'))).toBe(
      'key.direction',
    )
    expect(argumentOf(() => checkCheckpointValue('1', 's'))).toBe('value')
    expect(argumentOf(() => checkCheckpointValue({ version: 1 }, 's'))).toBe('value.version')
    expect(argumentOf(() => checkCheckpointValue({ version: '1', epoch: 2 }, 's'))).toBe(
      'value.epoch',
    )
    expect(argumentOf(() => checkBatchCheckpoint(5 as never, 's'))).toBe('checkpoint')
  })
})

describe('resolveTimers', () => {
  it('prefers timers, then the clock, then the globals', async () => {
    const clock = new TestClock()
    const fromClock = resolveTimers(undefined, clock, 'c')
    let fired = 0
    fromClock.setTimeout(() => fired++, 10)
    expect(clock.pendingTimers).toBe(1)
    await clock.advance(10)
    expect(fired).toBe(1)
    expect(resolveTimers(clock, undefined, 'c')).toBe(clock)
    expect(resolveTimers(undefined, { now: () => 0 }, 'c')).toBe(GLOBAL_TIMERS)
    expect(argumentOf(() => resolveTimers({ setTimeout: () => 1 } as never, undefined, 'c'))).toBe(
      'timers',
    )
  })
})

describe('refuseRenamedOptions', () => {
  it('refuses an old option name with what to use instead, and lets everything else through', () => {
    expect(
      argumentOf(() => refuseRenamedOptions({ setTimeout: () => 1 }, TIMER_RENAMES, 'c')),
    ).toBe('setTimeout')
    expect(() => refuseRenamedOptions({ clearTimeout: undefined }, TIMER_RENAMES, 'c')).toThrow(
      /option clearTimeout was renamed: use timers/,
    )
    expect(() => refuseRenamedOptions({ timers: {} }, TIMER_RENAMES, 'c')).not.toThrow()
    expect(() => refuseRenamedOptions(undefined, TIMER_RENAMES, 'c')).not.toThrow()
  })
})
