/**
 * The shared live-subscription loop reads ahead of a slow handler (issue 10): what arrives while
 * the handler works goes over as the next batch, each batch following the cursor, nothing lost
 * or repeated, and reading stops at MAX_READ_AHEAD_EVENTS.
 */
import { describe, expect, it } from 'vitest'
import type { EventWithVersion, LiveBatchInfo } from '../types/index.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { MAX_READ_AHEAD_EVENTS, ResumingSubscription } from './resuming-subscription.js'
import type { ConnectionOutcome } from './resuming-subscription.js'
import { resolveRetry } from './retry.js'
import { GLOBAL_TIMERS } from './timers.js'

const item = (n: number): EventWithVersion => ({
  event: { id: `e${n}`, type: 'T', aggregateId: 'x', data: null },
  version: new SequenceVersion(n),
})

/** A wire that accepts, then delivers `total` events one per read, as fast as it may. */
class FakeWire extends ResumingSubscription {
  /** The largest number of events read but not yet handed over, seen at a read. */
  maxAhead = 0
  #total: number
  #read = 0
  constructor(
    total: number,
    handler: (events: readonly EventWithVersion[], info?: LiveBatchInfo) => Promise<void> | void,
    onError?: (error: unknown) => void,
  ) {
    super({
      handler,
      since: new SequenceVersion(0),
      knownEpoch: 'E',
      signal: undefined,
      onError,
      toVersion: (value) => SequenceVersion.parse(value),
      onEpoch: () => undefined,
      lifetime: new AbortController().signal,
      retry: resolveRetry(undefined, 'test'),
      random: () => 0.5,
      timers: GLOBAL_TIMERS,
      client: '[test]',
    })
    this.#total = total
    this.begin(() => undefined)
  }

  protected async connection(): Promise<ConnectionOutcome> {
    const refused = this.accept('E', '0')
    if (refused !== undefined) return refused
    while (this.#read < this.#total) {
      const next = item(++this.#read)
      const handed = Number(this.cursorVersion?.toString() ?? 0)
      this.maxAhead = Math.max(this.maxAhead, this.#read - 1 - handed)
      if (!(await this.deliver([next]))) return { kind: 'healthy-end' }
    }
    // Open until stopped, as a real stream is (stopping cuts it).
    await new Promise((resolve) => this.stop.signal.addEventListener('abort', resolve))
    return { kind: 'healthy-end' }
  }
}

describe('ResumingSubscription: reading ahead of a slow handler', () => {
  it('Given a handler slower than the stream, When 5,000 events arrive one per read, Then it gets few large batches, each following the last, all events once in order, and reading never runs more than the bound ahead', async () => {
    const got: number[] = []
    const batches: { size: number; after: string | undefined }[] = []
    let done: () => void = () => undefined
    const all = new Promise<void>((resolve) => (done = resolve))
    const wire = new FakeWire(5_000, async (events, info) => {
      batches.push({ size: events.length, after: info?.after.toString() })
      for (const e of events) got.push(Number(e.version.toString()))
      // A slow handler: a timer turn per batch.
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (got.length === 5_000) done()
    })
    await all
    await wire.unsubscribe()
    expect(got).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1))
    expect(batches.length).toBeLessThan(50)
    // Each batch follows the one before it (the cursor moved when the handler finished it).
    let previous = '0'
    for (const batch of batches) {
      expect(batch.after).toBe(previous)
      previous = String(Number(previous) + batch.size)
    }
    expect(wire.maxAhead).toBeLessThanOrEqual(MAX_READ_AHEAD_EVENTS)
    expect(Math.max(...batches.map((b) => b.size))).toBeLessThanOrEqual(MAX_READ_AHEAD_EVENTS)
  })

  it('Given a handler that throws on the second batch, Then the subscription ends and reports it, and no later batch is handed over', async () => {
    const errors: unknown[] = []
    let calls = 0
    const wire = new FakeWire(
      10,
      async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 1))
        if (calls === 2) throw new Error('handler broke')
      },
      (error) => {
        errors.push(error)
      },
    )
    await new Promise((resolve) => setTimeout(resolve, 100))
    await wire.unsubscribe()
    expect(calls).toBe(2)
    expect(errors.map((e) => (e as Error).message)).toEqual(['handler broke'])
  })
})

describe('ResumingSubscription: a handler failing after unsubscribe', () => {
  it('Given a handler that unsubscribes and then throws (its work was cut short by the stop), Then nothing is reported to onError and no later batch is handed over', async () => {
    const errors: unknown[] = []
    let calls = 0
    let wire: FakeWire | undefined
    wire = new FakeWire(
      10,
      async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 1))
        await wire?.unsubscribe()
        throw new Error('cut short by the stop')
      },
      (error) => errors.push(error),
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    await wire.unsubscribe()
    wire = undefined
    expect(calls).toBe(1)
    expect(errors).toEqual([])
  })
})

/** A wire that hands over an empty batch (nothing new in a message), then `total` events. */
class EmptyFirstWire extends FakeWire {
  protected override async connection(): Promise<ConnectionOutcome> {
    const refused = this.accept('E', '0')
    if (refused !== undefined) return refused
    if (!(await this.deliver([]))) return { kind: 'healthy-end' }
    return super.connection()
  }
}

describe('ResumingSubscription: an empty batch', () => {
  it('Given a wire that hands over an empty batch first, When events follow, Then the handler still gets them all', async () => {
    const got: number[] = []
    const wire = new EmptyFirstWire(5, (events) => {
      for (const e of events) got.push(Number(e.version.toString()))
    })
    for (let i = 0; i < 100 && got.length < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await wire.unsubscribe()
    expect(got).toEqual([1, 2, 3, 4, 5])
  })
})
