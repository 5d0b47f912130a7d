import { describe, expect, it } from 'vitest'
import { SyncManager } from '../sync/sync-manager.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createTestHub } from '../transports/loopback/testing.js'
import { TestClock } from './test-clock.js'

describe('TestClock.runUntil', () => {
  it('Given work that waits on timers one after the other, when runUntil drives it, then it settles with its value', async () => {
    const clock = new TestClock()
    const wait = (ms: number): Promise<void> =>
      new Promise((resolve) => clock.setTimeout(resolve, ms))
    const chain = (async () => {
      await wait(10)
      await Promise.resolve()
      await wait(20) // scheduled only after the first wait: runAll would stop before it
      return 'done'
    })()

    await expect(clock.runUntil(chain)).resolves.toBe('done')
    expect(clock.now()).toBe(30)
  })

  it('Given a sync through a test hub with latency, when runUntil drives it, then it completes in clock time', async () => {
    const clock = new TestClock()
    const hub = createTestHub({ clock, latencyMs: 20 })
    const manager = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('a'),
      nodeId: 'a',
      clock,
    })
    await manager.record({ type: 'T', aggregateId: 'x', data: {} })

    const result = await clock.runUntil(manager.sync())

    expect(result.pushed).toBe(1)
    expect(clock.now()).toBeGreaterThanOrEqual(40)
  })

  it('Given a rejecting promise, then runUntil rejects the same way', async () => {
    const clock = new TestClock()
    const failing = new Promise<never>((_, reject) =>
      clock.setTimeout(() => reject(new Error('boom')), 5),
    )
    await expect(clock.runUntil(failing)).rejects.toThrow('boom')
  })

  it('Given a promise no timer of the clock will settle, then runUntil says so instead of hanging', async () => {
    const clock = new TestClock()
    await expect(clock.runUntil(new Promise(() => undefined))).rejects.toThrow(
      /no timer of this clock/,
    )
  })
})
