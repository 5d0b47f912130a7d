import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { TestClock } from '../testing/test-clock.js'
import type { Subscription, Transport } from '../types/index.js'
import { Scheduler } from './scheduler.js'
import { type SyncManagerOptions, resolveSyncOptions } from './sync-options.js'
import { liveMode } from './live-mode.js'

/** A transport that only subscribes: the scheduler uses nothing else of it. */
function subscribingTransport(subscribe: NonNullable<Transport['subscribe']>): Transport {
  return { subscribe } as unknown as Transport
}

function setup(extra: Partial<SyncManagerOptions> = {}, lost?: () => void) {
  const clock = new TestClock(0)
  const ctx = resolveSyncOptions({
    store: createMemoryStore(),
    transport: subscribingTransport(() => Promise.reject(new Error('unused'))),
    nodeId: 'a',
    clock,
    intervalMs: 10_000,
    backoff: { initialMs: 1_000, maxMs: 4_000 },
    random: () => 0.5,
    ...extra,
  })
  const errors: unknown[] = []
  ctx.events.on('error', (e) => errors.push(e))
  const runs: number[] = []
  let failing = 0
  const scheduler = new Scheduler(
    ctx,
    () => {
      runs.push(clock.now())
      if (failing > 0) {
        failing--
        return Promise.reject(new Error('offline'))
      }
      return Promise.resolve()
    },
    lost,
  )
  return { clock, ctx, errors, runs, scheduler, fail: (n: number) => (failing = n) }
}

describe('Scheduler', () => {
  it('Given start(), when time passes, then it syncs at once and then every intervalMs', async () => {
    const { clock, runs, scheduler } = setup()

    scheduler.start()
    await clock.advance(25_000)

    expect(runs).toEqual([0, 10_000, 20_000])
    expect(scheduler.running).toBe(true)
  })

  it('Given failing syncs, when they retry, then the waits follow full-jitter backoff on a TestClock and reset after a success', async () => {
    const { clock, errors, runs, scheduler, fail } = setup()
    fail(4)

    scheduler.start()
    await clock.advance(20_000)

    // random 0.5 of windows 1 000, 2 000, 4 000, 4 000 (capped): waits 500, 1 000, 2 000, 2 000;
    // then a success, and the interval again.
    expect(runs).toEqual([0, 500, 1_500, 3_500, 5_500, 15_500])
    expect(errors).toHaveLength(4)
  })

  it('Given stop(), then no timer is left and no sync runs any more', async () => {
    const { clock, runs, scheduler } = setup()
    scheduler.start()
    await clock.advance(0)

    await scheduler.stop()
    await clock.advance(60_000)

    expect(runs).toEqual([0])
    expect(clock.pendingTimers).toBe(0)
    expect(scheduler.running).toBe(false)
  })

  it('Given live mode and a remote that refuses the first subscriptions, then it re-subscribes with backoff and syncs on notifications', async () => {
    let attempts = 0
    let notify: (() => void) | undefined
    let unsubscribed = 0
    const transport = subscribingTransport((handler) => {
      attempts++
      if (attempts <= 2) return Promise.reject(new Error('refused'))
      notify = () => void handler([])
      const sub: Subscription = { unsubscribe: () => Promise.resolve(void unsubscribed++) }
      return Promise.resolve(sub)
    })
    const { clock, errors, runs, scheduler } = setup({ transport, features: [liveMode()] })

    scheduler.start()
    await clock.advance(499)
    expect(attempts).toBe(1)
    await clock.advance(1)
    expect(attempts).toBe(2)
    await clock.advance(1_000)
    expect(attempts).toBe(3)
    clock.set(1_700)
    notify?.()
    await clock.advance(0)
    await scheduler.stop()

    expect(errors.map((e) => (e as Error).message)).toEqual(['refused', 'refused'])
    // 1 500: the sync that follows an accepted subscription (what was stored before the stream
    // opened at the remote's head); 1 700: the notification
    expect(runs).toEqual([0, 1_500, 1_700])
    expect(unsubscribed).toBe(1)
  })

  it('Given stop() while a subscribe is still running, then that attempt is aborted through its signal', async () => {
    let signal: AbortSignal | undefined
    const transport = subscribingTransport((_handler, options) => {
      signal = options?.signal
      return new Promise(() => undefined)
    })
    const { scheduler } = setup({ transport, features: [liveMode()] })

    scheduler.start()
    await scheduler.stop()

    expect(signal?.aborted).toBe(true)
  })

  it('Given stop() then start() at once while a subscribe hangs, then the new start gets a live subscription of its own', async () => {
    const signals: AbortSignal[] = []
    let unsubscribed = 0
    const transport = subscribingTransport((_handler, options) => {
      if (options?.signal) signals.push(options.signal)
      if (signals.length === 1) {
        // The first attempt hangs until aborted.
        return new Promise((_, reject) =>
          options?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        )
      }
      const sub: Subscription = { unsubscribe: () => Promise.resolve(void unsubscribed++) }
      return Promise.resolve(sub)
    })
    const { clock, errors, scheduler } = setup({ transport, features: [liveMode()] })

    scheduler.start()
    await scheduler.stop()
    scheduler.start()
    await clock.advance(0)

    expect(signals).toHaveLength(2)
    expect(signals[0]?.aborted).toBe(true)
    expect(signals[1]?.aborted).toBe(false)
    expect(errors).toEqual([]) // the abandoned attempt is not a failure
    await scheduler.stop()
    expect(unsubscribed).toBe(1)
  })

  it('Given a live stream that fails after it was established (an epoch change, a refusal), then it is ended, a sync runs after the stream backoff, and a new subscription follows that good sync', async () => {
    const onErrors: ((error: unknown) => void)[] = []
    const handlers: ((batch: []) => unknown)[] = []
    let unsubscribed = 0
    const transport = subscribingTransport((handler, options) => {
      handlers.push(handler as (batch: []) => unknown)
      if (options?.onError) onErrors.push(options.onError)
      return Promise.resolve({ unsubscribe: () => Promise.resolve(void unsubscribed++) })
    })
    let losses = 0
    const { clock, errors, runs, scheduler } = setup(
      { transport, features: [liveMode()] },
      () => losses++,
    )
    scheduler.start()
    await clock.advance(1_000)
    expect(onErrors).toHaveLength(1)

    // When the stream fails twice in a row: the syncs wait 500 then 1 000 (full jitter at 0.5 of
    // windows 1 000 and 2 000), and each good sync subscribes again
    onErrors[0]?.(new Error('stream refused'))
    await clock.advance(1_000)
    expect(onErrors).toHaveLength(2)
    onErrors[1]?.(new Error('stream refused'))
    await clock.advance(1_500)
    expect(onErrors).toHaveLength(3)
    // A delivered batch shows the stream works: the next failure starts the backoff over
    void handlers[2]?.([])
    await clock.advance(0)
    onErrors[2]?.(new Error('stream refused'))
    await clock.advance(1_000)
    await scheduler.stop()

    // Each accepted subscription is followed by a sync at once (0, 1 500, 3 000, 4 000): it
    // covers what was stored between the good sync and the stream's start
    expect(runs).toEqual([0, 0, 1_500, 1_500, 3_000, 3_000, 3_500, 4_000, 4_000])
    expect(losses).toBe(3)
    expect(unsubscribed).toBe(4)
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'stream refused',
      'stream refused',
      'stream refused',
    ])
  })
})
