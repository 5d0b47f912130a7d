import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { TestClock } from '../testing/test-clock.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BATCH_SIZE,
  type SyncManagerOptions,
  resolveSyncOptions,
} from './sync-options.js'

const base = (): SyncManagerOptions => ({
  store: createMemoryStore(),
  transport: createLoopbackHub().connect('a'),
  nodeId: 'a',
})

function messageOf(extra: Record<string, unknown>): string {
  try {
    resolveSyncOptions({ ...base(), ...extra } as SyncManagerOptions)
  } catch (error) {
    expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    return (error as Error).message
  }
  return 'no error'
}

describe('resolveSyncOptions', () => {
  it('Given no tuning, then the defaults are filled in and the checkpoint keys name the default remote', () => {
    const ctx = resolveSyncOptions(base())

    expect(ctx.batchSize).toBe(DEFAULT_BATCH_SIZE)
    expect(ctx.backoff).toEqual({
      initialMs: DEFAULT_BACKOFF_INITIAL_MS,
      maxMs: DEFAULT_BACKOFF_MAX_MS,
    })
    expect(ctx.direction).toBe('both')
    expect(ctx.pushKey).toEqual({ remote: 'default', direction: 'push' })
    expect(ctx.pullKey).toEqual({ remote: 'default', direction: 'pull' })
  })

  it('Given bad options, then each is refused with the one option message of sync-kit', () => {
    expect(messageOf({ batchSize: 0 })).toBe(
      '[sync-kit] [sync-manager] option batchSize must be a positive integer, got 0',
    )
    expect(messageOf({ backoff: { maxMs: 1.5 } })).toBe(
      '[sync-kit] [sync-manager] option backoff.maxMs must be a positive integer, got 1.5',
    )
    expect(messageOf({ direction: 'sideways' })).toBe(
      '[sync-kit] [sync-manager] option direction must be both, push or pull',
    )
    expect(messageOf({ remote: '' })).toBe(
      '[sync-kit] [sync-manager] option remote must be a non-empty string',
    )
    expect(messageOf({ timers: {} })).toMatch(/option timers must be/)
  })

  it('Given a TestClock as clock and no timers, then the clock drives the timers too', () => {
    const clock = new TestClock(0)
    const ctx = resolveSyncOptions({ ...base(), clock })

    ctx.timers.setTimeout(() => undefined, 10)

    expect(clock.pendingTimers).toBe(1)
  })
})
